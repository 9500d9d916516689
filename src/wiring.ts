import { rm } from 'node:fs/promises';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoAssociationStore } from './adapters/association-store.ts';
import { createDocumentClient, createS3Client, LOCAL_CREDENTIALS } from './adapters/clients.ts';
import { EventBridgePublisher } from './adapters/eventbridge.ts';
import { LocalFileTree } from './adapters/fs.ts';
import { DynamoLedger } from './adapters/ledger.ts';
import type { AssociationStore, EventPublisher, FileTree, Ledger, ObjectStore } from './adapters/ports.ts';
import { S3ObjectStore } from './adapters/s3.ts';
import type { Config } from './config.ts';
import type { ControlDeps } from './control/associations.ts';
import type { ApplyDeps } from './sync/apply.ts';
import type { PlanDeps } from './sync/plan.ts';

/** The adapters one process needs, built once from its config. */
export interface Adapters {
  store: ObjectStore;
  tree: FileTree;
  ledger: Ledger;
  associations: AssociationStore;
}

export function createAdapters(config: Config): Adapters {
  const documents = createDocumentClient({ endpoint: config.dynamodbEndpoint });
  return {
    store: new S3ObjectStore({ client: createS3Client({ endpoint: config.s3Endpoint }) }),
    tree: new LocalFileTree({ restoreOwner: config.restoreOwner }),
    ledger: new DynamoLedger({ client: documents, tableName: config.tables.ledger }),
    associations: new DynamoAssociationStore({ client: documents, tableName: config.tables.associations }),
  };
}

export function createEventPublisher(config: Config): EventPublisher {
  const client = new EventBridgeClient({
    ...(config.eventsEndpoint ? { endpoint: config.eventsEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
  });
  return new EventBridgePublisher({ client, busName: config.busName });
}

export function planDeps(adapters: Adapters): PlanDeps {
  return { ledger: adapters.ledger, listAssociations: () => adapters.associations.list() };
}

export function applyDeps(config: Config, adapters: Adapters, events: EventPublisher): ApplyDeps {
  return {
    store: adapters.store,
    tree: adapters.tree,
    ledger: adapters.ledger,
    events,
    getAssociation: (id) => adapters.associations.get(id),
    fileSystemRoot: config.fileSystemRoot,
    owner: config.workerId,
    host: config.host,
    restoreOwner: config.restoreOwner,
  };
}

export function controlDeps(config: Config, adapters: Adapters): ControlDeps {
  return {
    associations: adapters.associations,
    store: adapters.store,
    tree: adapters.tree,
    ledger: adapters.ledger,
    fileSystemRoot: config.fileSystemRoot,
    removeTree: (dir) => rm(dir, { recursive: true, force: true }),
  };
}
