import { KomaError } from '../../domain/errors.js';
import type { SlicingTree } from './slicing-tree.js';

/**
 * Named layouts, expressed as slicing trees so they go through the same solver
 * as automatic ones. Each is a stack of tiers given as panels per tier; the
 * `N-tier` templates spread any number of panels over N tiers. `rows:1-2-3`
 * spells out a custom one.
 */
type TierPlan = (n: number) => number[] | null;

const spread = (tiers: number): TierPlan => (n) => {
  if (n < tiers) return null;
  const base = Math.floor(n / tiers);
  const extra = n % tiers;
  // Extra panels go to the middle tiers first: the top and bottom stay calmer.
  const order = Array.from({ length: tiers }, (_, i) => i).sort((a, b) => Math.abs(a - (tiers - 1) / 2) - Math.abs(b - (tiers - 1) / 2));
  const counts = Array<number>(tiers).fill(base);
  for (let k = 0; k < extra; k++) counts[order[k]!]! += 1;
  return counts;
};

const fixed = (counts: number[]): TierPlan => (n) => (n === counts.reduce((s, c) => s + c, 0) ? counts : null);

export const TEMPLATES: Readonly<Record<string, TierPlan>> = {
  splash: fixed([1]),
  '2-tier': spread(2),
  '3-tier': spread(3),
  '4-tier': spread(4),
  '1+2': fixed([1, 2]),
  '2+1': fixed([2, 1]),
  '2x2': fixed([2, 2]),
  '2x3': fixed([2, 2, 2]),
  'splash+strip': (n) => (n >= 2 ? [1, n - 1] : null),
  'vertical-strip': (n) => Array<number>(n).fill(1),
  columns: (n) => [n],
};

export function tiersToTree(counts: number[]): SlicingTree {
  let next = 0;
  const tiers: SlicingTree[] = counts.map((count) => {
    const panels: SlicingTree[] = Array.from({ length: count }, () => ({ kind: 'panel', index: next++ }));
    return panels.length === 1 ? panels[0]! : { kind: 'row', children: panels };
  });
  return tiers.length === 1 ? tiers[0]! : { kind: 'stack', children: tiers };
}

export function templateTree(name: string, panelCount: number): SlicingTree {
  const custom = name.match(/^rows:(\d+(?:-\d+)*)$/);
  if (custom) {
    const counts = custom[1]!.split('-').map(Number);
    const total = counts.reduce((s, c) => s + c, 0);
    if (counts.some((c) => c < 1)) throw new KomaError('invalid-input', `layout "${name}": every tier needs at least one panel`);
    if (total !== panelCount) throw new KomaError('invalid-input', `layout "${name}" holds ${total} panels, the page has ${panelCount}`);
    return tiersToTree(counts);
  }
  const plan = TEMPLATES[name];
  if (!plan) {
    throw new KomaError('invalid-input', `unknown layout "${name}"; use auto, ${Object.keys(TEMPLATES).join(', ')} or rows:1-2-2`);
  }
  const counts = plan(panelCount);
  if (!counts) throw new KomaError('invalid-input', `layout "${name}" does not fit a page of ${panelCount} panels`);
  return tiersToTree(counts);
}
