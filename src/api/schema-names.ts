/**
 * Schemas the API document names (`#/components/schemas/<Name>`) instead of repeating them in every operation:
 * the shapes a client meets in many answers (a conversation, a message, the error body).
 */
import type { z } from 'zod';

const named = new Map<string, z.ZodType>();

export function namedSchema<S extends z.ZodType>(name: string, schema: S): S {
  const existing = named.get(name);
  if (existing && existing !== schema) throw new Error(`two different schemas are named ${name}`);
  named.set(name, schema);
  return schema;
}

export function namedSchemas(): ReadonlyMap<string, z.ZodType> {
  return named;
}
