'use strict';
/**
 * State machine definitions for serverless-step-functions, read from
 * statemachines/*.asl.json at package time: the same files the local runtime
 * executes, never a copy. Read here rather than with `${file(…json)}` so the
 * ASL's own `${PlanFunctionArn}`-style placeholders reach CloudFormation
 * untouched (they are DefinitionSubstitutions, not Serverless variables).
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const definition = (name) => () =>
  JSON.parse(readFileSync(join(__dirname, '..', 'statemachines', `${name}.asl.json`), 'utf8'));

module.exports = {
  sync: definition('sync'),
  repositoryTask: definition('repository-task'),
  largeTransfer: definition('large-transfer'),
};
