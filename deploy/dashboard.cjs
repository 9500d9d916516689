// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here are CloudFormation Fn::Sub references, not JavaScript templates.
'use strict';
/**
 * The CloudWatch dashboard (`bucketlink-<stage>`): the status page's panels,
 * drawn from the metrics `summarize` publishes through Powertools (namespace
 * `bucketlink`, dimensions service + associationId [+ code]) and the queues'
 * and state machines' own. Per-association series use SEARCH, so a new
 * association appears without a redeploy. `${…}` are Fn::Sub references.
 */

const NAMESPACE = 'bucketlink';

const search = (dimensions, metric, stat, label) => ({
  expression: `SEARCH('{${NAMESPACE},${dimensions.join(',')}} MetricName="${metric}"', '${stat}', 60)`,
  id: `e${metric.toLowerCase()}`,
  label,
});

const widget = (title, metrics, extra = {}) => ({
  type: 'metric',
  width: 12,
  height: 6,
  properties: {
    title,
    region: '${AWS::Region}',
    view: 'timeSeries',
    stacked: false,
    period: 60,
    metrics,
    ...extra,
  },
});

/** The dashboard's widgets, laid out two per row in this order. */
function widgets(lagAlarmMs) {
  const perAssociation = ['associationId', 'service'];
  return [
    widget(
      'Lag (ms, change seen → synced)',
      [
        [search(perAssociation, 'Lag', 'Maximum', '')],
        [NAMESPACE, 'MaxLag', 'service', NAMESPACE, { stat: 'Maximum', label: 'worst of all associations' }],
      ],
      { annotations: { horizontal: [{ label: 'lag alarm', value: lagAlarmMs }] } },
    ),
    widget('Transfers per minute', [[search(perAssociation, 'Transfers', 'Sum', '')]]),
    widget('Bytes moved per minute', [[search(perAssociation, 'TransferredBytes', 'Sum', '')]]),
    widget('Conflicts per minute', [[search(perAssociation, 'Conflicts', 'Sum', '')]]),
    widget('Failures by code', [[search(['associationId', 'code', 'service'], 'Failures', 'Sum', '')]]),
    widget('Dead-letter queue depth', [
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        '${DeadLetterQueue.QueueName}',
        { stat: 'Maximum' },
      ],
    ]),
    widget('Age of the oldest buffered change (s)', [
      [
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'QueueName',
        '${BufferQueue.QueueName}',
        { stat: 'Maximum' },
      ],
    ]),
    widget('Failed executions', [
      [
        'AWS/States',
        'ExecutionsFailed',
        'StateMachineArn',
        '${SyncStateMachine}',
        { stat: 'Sum', label: 'sync' },
      ],
      ['...', '${RepositoryTaskStateMachine}', { stat: 'Sum', label: 'repository tasks' }],
      ['...', '${LargeTransferStateMachine}', { stat: 'Sum', label: 'large transfers' }],
    ]),
  ].map((w, i) => ({ ...w, x: (i % 2) * 12, y: Math.floor(i / 2) * 6 }));
}

module.exports = {
  NAMESPACE,
  widgets,
  /** `${file(./deploy/dashboard.cjs):body}`: the DashboardBody, a JSON string through Fn::Sub. */
  body: async ({ resolveVariable }) => {
    const seconds = Number(await resolveVariable('param:lagAlarmSeconds'));
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86400)
      throw new Error('deploy parameter `lagAlarmSeconds` must be an integer 1..86400');
    return { 'Fn::Sub': JSON.stringify({ widgets: widgets(seconds * 1000) }) };
  },
  /** The lag alarm's threshold in the unit summarize publishes Lag in (milliseconds). */
  lagAlarmMilliseconds: async ({ resolveVariable }) =>
    1000 * Number(await resolveVariable('param:lagAlarmSeconds')),
};
