import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { writeTinyModel } from './support/tiny-model-folder.js';

/**
 * `koma render` with an installed model, as a user runs it: a child process
 * through tsx, the model found by KOMA_MODELS_DIR, inference in the worker thread.
 */
const root = path.resolve(import.meta.dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const work = mkdtempSync(path.join(os.tmpdir(), 'koma-cli-diffusion-'));
const modelsDir = path.join(work, 'models');
writeTinyModel(modelsDir, { id: 'tiny-sd15', family: 'sd15', vaeScalingFactor: 1 });

function koma(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(tsx, [path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, KOMA_DEBUG: '', KOMA_MODELS_DIR: modelsDir, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function story(): string {
  const dir = path.join(work, 'story');
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(root, 'examples/characters'), path.join(dir, 'characters'), { recursive: true });
  writeFileSync(
    path.join(dir, 'story.json'),
    JSON.stringify({
      title: 'Diffusion Test',
      characters: [{ name: 'Aki', description: 'b', images: ['characters/aki.png'] }],
      panels: [
        { prompt: 'a', characters: 'Aki @ right', dialogs: 'Aki: Hello!' },
        { prompt: 'd', aspect: '16:9' },
      ],
    }),
  );
  return dir;
}

describe('koma render with an installed model', () => {
  it('renders every panel with the diffusion renderer and composes the pages', async () => {
    const out = path.join(work, 'out');
    const run = koma(['render', story(), '--out', out, '--renderer', 'diffusion', '--model', 'tiny-sd15', '--steps', '2', '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'story.json'), 'utf8'));
    expect(summary.renderer).toBe('diffusion:tiny-sd15');
    expect(summary.panels.map((p: { renderer: string }) => p.renderer)).toEqual(['diffusion:tiny-sd15', 'diffusion:tiny-sd15']);
    expect(await sharp(path.join(out, 'page-001.png')).metadata()).toMatchObject({ width: 1600, format: 'png' });
  }, 120_000);

  it('says in one line what is missing when no model is installed', () => {
    const run = koma(['render', story(), '--out', path.join(work, 'none'), '--renderer', 'diffusion', '--quiet'], { KOMA_MODELS_DIR: path.join(work, 'empty') });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/needs an installed model/);
  }, 60_000);

  it('rejects a bad --steps as a usage error', () => {
    const run = koma(['render', story(), '--steps', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--steps must be a whole number from 1 to 150/);
  }, 60_000);
});
