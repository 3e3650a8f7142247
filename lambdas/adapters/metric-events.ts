import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Events, ServerEvent } from '../ports';

/**
 * Server events as CloudWatch EMF metrics (the upstream OTK* counters), one dimension `Source`
 * (the issuing token's region label). Flushed by the house middleware after each request.
 */
export class MetricEvents implements Events {
  constructor(private readonly metrics: Metrics) {}

  record(name: ServerEvent, count: number, source: string): void {
    const single = this.metrics.singleMetric();
    single.addDimension('Source', source || 'unknown');
    single.addMetric(name, MetricUnit.Count, count);
  }
}
