#!/bin/sh
# CI check of the AWS deployment, offline: package with Serverless v3 (no AWS
# credentials, no network to AWS) into .serverless/, then test the template.
set -eu
cd "$(dirname "$0")/.."
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*'
# Serverless reads none of these to package; unset them so a developer's real ones cannot matter.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
rm -rf .serverless
npx --no-install serverless package --stage ci --region us-east-1
BUCKETLINK_PACKAGED=1 npx --no-install vitest run test/deploy
