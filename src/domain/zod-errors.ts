import type { z } from 'zod';


/** Renders a path like `panels[2].characters[0].box` from a zod issue path. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Turns a zod error into short lines, one per problem: `where: what`.
 * Used at every boundary (story files, config, command options) so that errors
 * read the same everywhere.
 */
export function formatZodError(error: z.ZodError, maxIssues = 5): string {
  const lines = error.issues.flatMap((issue) => explain(issue, [])).slice(0, maxIssues);
  const more = error.issues.length - maxIssues;
  if (more > 0) lines.push(`(and ${more} more problem${more === 1 ? '' : 's'})`);
  return lines.join('; ');
}

type Issue = z.core.$ZodIssue;

/**
 * One issue as lines. A failed union ("a box is a string or 4 numbers") says only
 * "Invalid input"; the branch that got furthest holds the useful message, so
 * report that one instead.
 */
function explain(issue: Issue, prefix: PropertyKey[]): string[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const depth = (branch: Issue[]) => Math.max(...branch.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 0.5)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
    return best.flatMap((inner) => explain(inner, path));
  }
  const where = formatIssuePath(path);
  return [where ? `${where}: ${issue.message}` : issue.message];
}
