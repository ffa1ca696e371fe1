import { KomaError } from '../errors.js';
import { closestName } from './suggest.js';

/** A character as the short languages see it. */
export interface CastMember {
  id: string;
  name: string;
}

/** Finds a character by name or id, case-insensitively, or explains who exists. */
export function findCastMember(cast: readonly CastMember[], nameOrId: string, where: string): CastMember {
  const key = nameOrId.trim().toLowerCase();
  const found = cast.find((c) => c.id === key || c.name.toLowerCase() === key);
  if (found) return found;
  const names = cast.map((c) => c.name);
  const suggestion = closestName(key, names);
  const known = names.length ? names.join(', ') : 'none yet';
  throw new KomaError(
    'invalid-input',
    `${where}: unknown character "${nameOrId.trim()}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; known characters: ${known}`,
  );
}

/** Splits on `sep` except where it is escaped with a backslash; unescapes `\sep`. */
export function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && text[i + 1] === sep) {
      current += sep;
      i++;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}
