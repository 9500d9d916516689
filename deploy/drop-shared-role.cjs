'use strict';
/**
 * Serverless v3 always compiles one shared execution role
 * (`IamRoleLambdaExecution`, with every function's log and EFS permissions);
 * serverless-iam-roles-per-function gives each function its own role but
 * leaves the shared one in the template, used by nothing. This plugin, listed
 * after it, removes the shared role once no resource refers to it, so the
 * stack holds exactly one role per function.
 */
const SHARED_ROLE = 'IamRoleLambdaExecution';

class DropSharedRole {
  constructor(serverless) {
    this.hooks = {
      'before:package:finalize': () => {
        const resources = serverless.service.provider.compiledCloudFormationTemplate.Resources;
        const { [SHARED_ROLE]: shared, ...others } = resources;
        if (!shared) return;
        if (JSON.stringify(others).includes(`"${SHARED_ROLE}"`)) return;
        delete resources[SHARED_ROLE];
      },
    };
  }
}

module.exports = DropSharedRole;
