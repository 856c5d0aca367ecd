/**
 * The one way the engine turns zod's issues into words: `<where>.<field>: <problem>`, one problem per field.
 * Used by the settings, the API's 400 answers, the Graph client and the webhook parser alike.
 */
import type { z } from 'zod';

export interface IssueFormatOptions {
  /** Put in front of every path, e.g. `body` or `query` (the part of a request the issue is in). */
  where?: string;
  /** Names an issue about the whole value when there is no `where` (e.g. `(body)`). */
  rootLabel?: string;
}

/** One line per problem. An unknown key is named as its own field rather than as a problem of its parent. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], options: IssueFormatOptions = {}): string[] {
  const name = (path: readonly PropertyKey[]): string => {
    const parts = [...(options.where === undefined ? [] : [options.where]), ...path.map((part) => String(part))];
    return parts.length > 0 ? parts.join('.') : (options.rootLabel ?? '(root)');
  };
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => `${name([...issue.path, key])}: unknown field`) : [`${name(issue.path)}: ${issue.message}`],
  );
}

/** The problems joined into one sentence-like line, for an error message. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], options: IssueFormatOptions = {}): string {
  return describeIssues(issues, options).join('; ');
}
