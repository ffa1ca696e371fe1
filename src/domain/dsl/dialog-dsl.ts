import { KomaError } from '../errors.js';
import { type Dialog, type DialogKind, DialogKindSchema, DialogSchema, LIMITS, NARRATOR } from '../model.js';
import { formatZodError } from '../zod-errors.js';
import { formatBox, parseBox } from './box-dsl.js';
import { type CastMember, findCastMember, splitUnescaped } from './cast-member.js';
import { closestName } from './suggest.js';

/**
 * Dialog lines as typed in Discord, separated by `|` (a literal bar is `\|`):
 *   `Aki: We're late! | Ren (shout): Hurry! | narrator: Meanwhile… | Aki (thought) @ right-third: Hmm.`
 * A line is `speaker [(kind)] [@ box]: text`. `narrator` speaks in narration boxes.
 */

const LINE_RE = /^\s*([^:(@]+?)\s*(?:\(\s*([^)]*?)\s*\))?\s*(?:@\s*([^:]+?))?\s*:\s*([\s\S]*)$/;
const KINDS = DialogKindSchema.options;

function invalid(message: string): never {
  throw new KomaError('invalid-input', message);
}

export function parseDialogs(text: string, cast: readonly CastMember[]): Dialog[] {
  const lines = splitUnescaped(text, '|').filter((line) => line.trim() !== '');
  if (lines.length > LIMITS.dialogsPerPanel) invalid(`a panel holds at most ${LIMITS.dialogsPerPanel} dialog lines, got ${lines.length}`);
  return lines.map((line, i) => {
    const where = `dialog ${i + 1} ("${line.trim().slice(0, 40)}")`;
    const match = line.match(LINE_RE);
    if (!match) invalid(`${where}: expected "Name: text", e.g. "Aki: We're late!"`);
    const [, speakerText, kindText, boxText, body] = match;
    const isNarrator = speakerText!.trim().toLowerCase() === NARRATOR;
    const speaker = isNarrator ? NARRATOR : findCastMember(cast, speakerText!, where).id;
    let kind: DialogKind = isNarrator ? 'narration' : 'speech';
    if (kindText !== undefined) {
      const lower = kindText.toLowerCase();
      if (!(KINDS as readonly string[]).includes(lower)) {
        const hint = closestName(lower, KINDS);
        invalid(`${where}: unknown kind "${kindText}"${hint ? ` (did you mean "${hint}"?)` : ''}; kinds are ${KINDS.join(', ')}`);
      }
      kind = lower as DialogKind;
    }
    let box;
    if (boxText !== undefined) {
      try {
        box = parseBox(boxText);
      } catch (error) {
        invalid(`${where}: ${(error as Error).message}`);
      }
    }
    const parsed = DialogSchema.safeParse({ speaker, kind, text: body, ...(box ? { box } : {}) });
    if (!parsed.success) invalid(`${where}: ${formatZodError(parsed.error)}`);
    return parsed.data;
  });
}

/** Writes dialogs back in the same language; `parseDialogs(formatDialogs(d))` equals d. */
export function formatDialogs(dialogs: readonly Dialog[], cast: readonly CastMember[]): string {
  return dialogs
    .map((d) => {
      const isNarrator = d.speaker === NARRATOR;
      const name = isNarrator ? NARRATOR : (cast.find((c) => c.id === d.speaker)?.name ?? d.speaker);
      const defaultKind = isNarrator ? 'narration' : 'speech';
      const kind = d.kind === defaultKind ? '' : ` (${d.kind})`;
      const box = d.box ? ` @ ${formatBox(d.box)}` : '';
      return `${name}${kind}${box}: ${d.text.replace(/\|/g, '\\|')}`;
    })
    .join(' | ');
}
