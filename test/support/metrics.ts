/** Reads Prometheus' text format the way a scraper does, so tests check what an operator would see. */
import type { Registry } from 'prom-client';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const match = SAMPLE.exec(line.trim());
    if (!match || line.startsWith('#')) return [];
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((label) => [label[1]!, label[2]!]));
    return [{ name: match[1]!, labels, value: Number(match[3]) }];
  });
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none (a series not yet made). */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples: name every label`);
  return found[0]?.value ?? 0;
}

export async function samplesOf(registry: Pick<Registry, 'metrics'>): Promise<Sample[]> {
  return parseExposition(await registry.metrics());
}

/** GET /metrics at `baseUrl`, answered in the text format. */
export async function scrapeMetrics(baseUrl: string, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; text: string; samples: Sample[] }> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, samples: response.ok ? parseExposition(text) : [] };
}
