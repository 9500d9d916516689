/**
 * One seam where every AWS client and the file tree a process builds can be
 * observed. Nothing observes them in production; test/deploy/iam-calls.test.ts
 * records every call each function's real code path makes (a middleware per
 * SDK client, a proxy on the tree) and proves the function's IAM role in the
 * packaged template allows it.
 */

/** What a target talks to: an AWS service (by IAM prefix) or the EFS mount. */
export type ObservedService = 's3' | 'dynamodb' | 'states' | 'events' | 'sqs' | 'elasticfilesystem';

export type Observer = <T extends object>(service: ObservedService, target: T) => T;

let observer: Observer | undefined;

/** Installs (or, with undefined, removes) the observer every later client and tree goes through. */
export function observeClients(next: Observer | undefined): void {
  observer = next;
}

/** The target, or what the installed observer makes of it. */
export function observed<T extends object>(service: ObservedService, target: T): T {
  return observer ? observer(service, target) : target;
}
