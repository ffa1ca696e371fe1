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
  const lines = error.issues.slice(0, maxIssues).map((issue) => {
    const where = formatIssuePath(issue.path);
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length - maxIssues;
  if (more > 0) lines.push(`(and ${more} more problem${more === 1 ? '' : 's'})`);
  return lines.join('; ');
}
