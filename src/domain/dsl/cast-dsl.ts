import { KomaError } from '../errors.js';
import { type CharacterPlacement, LIMITS } from '../model.js';
import { formatBox, parseBox } from './box-dsl.js';
import { type CastMember, findCastMember } from './cast-member.js';

/**
 * Who stands where: `Aki @ left, Ren @ right-third` or `Aki: left | Ren: 0.5,0.1,0.9,1`.
 * Entries are separated by `|`, `;`, or a comma that is followed by a name
 * (a comma inside numbers like 0.5,0.1,0.9,1 belongs to the box).
 */

const ENTRY_SPLIT = /[|;]|,(?=\s*[^\d\s.,[\]%+-][^@:,]*[@:])/;
const ENTRY_RE = /^\s*([^@:]+?)\s*[@:]\s*(.+?)\s*$/;

export function parseCast(text: string, cast: readonly CastMember[]): CharacterPlacement[] {
  const entries = text.split(ENTRY_SPLIT).filter((e) => e.trim() !== '');
  if (entries.length > LIMITS.charactersPerPanel) {
    throw new KomaError('invalid-input', `a panel holds at most ${LIMITS.charactersPerPanel} characters, got ${entries.length}`);
  }
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const where = `character ${i + 1} ("${entry.trim()}")`;
    const match = entry.match(ENTRY_RE);
    if (!match) throw new KomaError('invalid-input', `${where}: expected "Name @ box", e.g. "Aki @ left"`);
    const member = findCastMember(cast, match[1]!, where);
    if (seen.has(member.id)) throw new KomaError('invalid-input', `${where}: ${member.name} is already placed in this panel`);
    seen.add(member.id);
    try {
      return { characterId: member.id, box: parseBox(match[2]!) };
    } catch (error) {
      throw new KomaError('invalid-input', `${where}: ${(error as Error).message}`);
    }
  });
}

export function formatCast(placements: readonly CharacterPlacement[], cast: readonly CastMember[]): string {
  return placements
    .map((p) => `${cast.find((c) => c.id === p.characterId)?.name ?? p.characterId} @ ${formatBox(p.box)}`)
    .join(', ');
}
