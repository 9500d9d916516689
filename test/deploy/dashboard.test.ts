// biome-ignore-all lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; the tests are its schema.
import { describe, expect, it } from 'vitest';
import { loadTemplate, type Template, templatePresent } from './template.ts';

/** The panels issue 15 asks for, by title, and the metric each must draw. */
const PANELS: Array<[title: RegExp, draws: RegExp]> = [
  [/^Lag/, /MetricName="Lag"/],
  [/^Transfers/, /MetricName="Transfers"/],
  [/^Bytes/, /MetricName="TransferredBytes"/],
  [/^Conflicts/, /MetricName="Conflicts"/],
  [/^Failures by code/, /\{bucketlink,associationId,code,service\} MetricName="Failures"/],
  [/^Dead-letter/, /ApproximateNumberOfMessagesVisible.*\$\{DeadLetterQueue\.QueueName\}/],
  [/^Age of the oldest/, /ApproximateAgeOfOldestMessage.*\$\{BufferQueue\.QueueName\}/],
  [
    /^Failed executions/,
    /ExecutionsFailed.*\$\{SyncStateMachine\}.*\$\{RepositoryTaskStateMachine\}.*\$\{LargeTransferStateMachine\}/,
  ],
];

describe.skipIf(!templatePresent)('the CloudWatch dashboard and the lag alarm', () => {
  const template: Template = templatePresent ? loadTemplate() : { Resources: {}, Outputs: {} };
  const dashboard = template.Resources.StatusDashboard;
  const body = (): { widgets: any[] } => JSON.parse(dashboard!.Properties.DashboardBody['Fn::Sub']);

  it('is one dashboard per stage whose body CloudFormation substitutes', () => {
    expect(dashboard?.Type).toBe('AWS::CloudWatch::Dashboard');
    expect(dashboard!.Properties.DashboardName).toBe('bucketlink-ci');
    expect(typeof dashboard!.Properties.DashboardBody['Fn::Sub']).toBe('string');
  });

  it.each(PANELS)('has a panel %s drawing %s', (title, draws) => {
    const panel = body().widgets.find((w) => title.test(w.properties.title));
    expect(panel, `no panel titled ${title}`).toBeDefined();
    expect(panel.type).toBe('metric');
    expect(JSON.stringify(panel.properties.metrics).replaceAll(String.raw`\"`, `"`)).toMatch(draws);
  });

  it('references only resources the template defines, and lays panels out without overlap', () => {
    const text = dashboard!.Properties.DashboardBody['Fn::Sub'] as string;
    for (const [, name] of text.matchAll(/\$\{([A-Za-z]+)(?:\.[A-Za-z]+)?\}/g))
      expect(template.Resources, `\${${name}}`).toHaveProperty(name!);
    const cells = new Set<string>();
    for (const w of body().widgets) {
      for (let x = w.x; x < w.x + w.width; x++)
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('alarms when the worst lag summarize publishes stays above lagAlarmSeconds (default 120 s)', () => {
    const alarm = template.Resources.LagAlarm!;
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm.Properties).toMatchObject({
      Namespace: 'bucketlink',
      MetricName: 'MaxLag',
      Dimensions: [{ Name: 'service', Value: 'bucketlink' }],
      Statistic: 'Maximum',
      Threshold: 120_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const lagPanel = body().widgets.find((w) => /^Lag/.test(w.properties.title));
    expect(lagPanel.properties.annotations.horizontal[0].value).toBe(120_000);
  });
});
