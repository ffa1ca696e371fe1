import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The CLI as a user runs it: a real child process through tsx, real files.
 * Exit codes: 0 done, 1 bad input (one readable line), 2 bad usage.
 */
const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

function koma(args: string[], cwd = root) {
  const result = spawnSync(tsx, [path.join(root, 'src/cli/main.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, KOMA_DEBUG: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'koma-cli-'));

function storyDir(name: string, story: unknown): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(root, 'examples/characters'), path.join(dir, 'characters'), { recursive: true });
  writeFileSync(path.join(dir, 'story.json'), typeof story === 'string' ? story : JSON.stringify(story));
  return dir;
}

const baseStory = {
  title: 'Test Story',
  characters: [
    { name: 'Aki', description: 'short black hair', images: ['characters/aki.png'] },
    { name: 'Ren', images: ['characters/ren.png'] },
  ],
  panels: [
    { prompt: 'a platform', characters: 'Aki @ right, Ren @ left', dialogs: 'Aki: Late again! | Ren (shout): Sorry!' },
    { prompt: 'a train', aspect: '16:9', characters: [{ character: 'ren', box: [0.3, 0.1, 0.7, 1] }], dialogs: [{ speaker: 'narrator', text: 'Later.' }] },
  ],
};

describe('koma render', () => {
  let out: string;
  let run: ReturnType<typeof koma>;

  beforeAll(() => {
    out = path.join(work, 'out-ok');
    run = koma(['render', storyDir('ok', baseStory), '--out', out, '--quiet']);
  }, 120_000);

  it('renders a story into pages with layout metadata and a summary', async () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const meta = await sharp(path.join(out, 'page-001.png')).metadata();
    expect([meta.width, meta.height]).toEqual([1600, 2259]);
    const layout = JSON.parse(readFileSync(path.join(out, 'page-001.layout.json'), 'utf8'));
    expect(layout.panels).toHaveLength(2);
    expect(layout.readingOrder).toEqual([0, 1]);
    expect(layout.balloons.map((b: { kind: string }) => b.kind).sort()).toEqual(['narration', 'shout', 'speech']);
    expect(layout.overflow).toBe(false);
    for (const b of layout.balloons) expect(b.fontSizePx).toBeGreaterThan(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'story.json'), 'utf8'));
    expect(summary.renderer).toBe('storyboard');
    expect(summary.pages).toHaveLength(1);
    expect(summary.panels.map((p: { number: number }) => p.number)).toEqual([1, 2]);
  });

  it('renders the same story to the same bytes again', () => {
    const again = path.join(work, 'out-again');
    expect(koma(['render', path.join(work, 'ok'), '--out', again, '--quiet']).code).toBe(0);
    expect(readFileSync(path.join(again, 'page-001.png')).equals(readFileSync(path.join(out, 'page-001.png')))).toBe(true);
  });

  it.each([
    ['malformed JSON', '{ "title": "x", ', /koma: error: story file .*story\.json is not valid JSON/],
    ['a 4000-character prompt', { ...baseStory, panels: [{ prompt: 'x'.repeat(4000) }] }, /panels\[0\]\.prompt: prompt is 4000 characters; the limit is 1000/],
    ['an unknown character', { ...baseStory, panels: [{ prompt: 'p', characters: 'Kai @ left' }] }, /panel 1: character 1 \("Kai @ left"\): unknown character "Kai"; known characters: Aki, Ren/],
    ['an unknown speaker id', { ...baseStory, panels: [{ prompt: 'p', dialogs: [{ speaker: 'mochi', text: 'mrrp' }] }] }, /panel 1, dialog 1: unknown character "mochi" \(known: Aki, Ren\)/],
    ['a box out of range', { ...baseStory, panels: [{ prompt: 'p', characters: [{ character: 'aki', box: [0.1, 0.1, 1.4, 0.9] }] }] }, /x2 = 1\.4 is outside 0\.\.1/],
    ['a missing reference image', { ...baseStory, characters: [{ name: 'Aki', images: ['characters/nobody.png'] }], panels: [{ prompt: 'p' }] }, /character Aki: reference image characters\/nobody\.png: file not found/],
  ])('exits 1 with one clear line for %s', (name, story, message) => {
    const result = koma(['render', storyDir(name.replace(/\W+/g, '-'), story), '--out', path.join(work, 'o'), '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('exits 1 for a corrupt and for a 20000×20000 reference image', () => {
    const dir = storyDir('bad-images', { ...baseStory, characters: [{ name: 'Aki', images: ['characters/broken.png'] }], panels: [{ prompt: 'p' }] });
    writeFileSync(path.join(dir, 'characters/broken.png'), readFileSync(path.join(root, 'examples/characters/aki.png')).subarray(0, 2000));
    const corrupt = koma(['render', dir, '--out', path.join(work, 'o2'), '--quiet']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/character Aki: reference image characters\/broken\.png: .*damaged|not an image/);

    // A PNG whose header claims 20000×20000: refused from the header, before decoding.
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(20000, 0);
    ihdr.writeUInt32BE(20000, 4);
    ihdr[8] = 8;
    const crcTable = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type), data]);
      let c = 0xffffffff;
      for (const b of body) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
      const out = Buffer.alloc(12 + data.length);
      out.writeUInt32BE(data.length, 0);
      body.copy(out, 4);
      out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
      return out;
    };
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(20001))), chunk('IEND', Buffer.alloc(0))]);
    writeFileSync(path.join(dir, 'characters/broken.png'), png);
    const huge = koma(['render', dir, '--out', path.join(work, 'o3'), '--quiet']);
    expect(huge.code).toBe(1);
    expect(huge.stderr).toMatch(/the image is 20000×20000 = 400 MP; the limit is 40 MP/);
  });

  it('exits 2 with usage for a bad command line', () => {
    expect(koma([]).code).toBe(2);
    expect(koma(['paint']).stderr).toMatch(/unknown command "paint"/);
    const noStory = koma(['render']);
    expect(noStory.code).toBe(2);
    expect(noStory.stderr).toMatch(/render takes exactly one story file or folder/);
    expect(koma(['render', 'x', '--renderer', 'magic']).code).toBe(2);
  });

  it('exits 1 when the story file does not exist', () => {
    const result = koma(['render', path.join(work, 'nope.json')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/story file .*nope\.json does not exist/);
  });
});
