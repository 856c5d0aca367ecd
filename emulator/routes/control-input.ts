/** Reading the control API's input: refusals in Meta's error shape with type EmulatorControlException, naming the field. */
import type { z } from 'zod';
import { GraphError } from '../graph-errors';

export function controlError(message: string): GraphError {
  return new GraphError({ code: 100, type: 'EmulatorControlException', message });
}

export function parse<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    throw controlError(result.error.issues.map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`).join('; '));
  }
  return result.data;
}

export function exactlyOne<T extends Record<string, unknown>>(keys: Array<keyof T & string>) {
  return [(value: T) => keys.filter((key) => value[key] !== undefined).length === 1, { message: `give exactly one of ${keys.join(', ')}` }] as const;
}
