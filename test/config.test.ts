import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { KomaError } from '../src/domain/errors.js';

describe('loadConfig', () => {
  it('loads the embedded defaults with no environment', () => {
    const config = loadConfig({});
    expect(config.store.url).toBe('sqlite://data/koma.sqlite');
    expect(config.render.renderer).toBe('auto');
    expect(config.discord.token).toBeUndefined();
  });

  it('applies environment overrides with coercion', () => {
    const config = loadConfig({ KOMA_STORE_URL: 'redis://127.0.0.1:6379', KOMA_QUEUE_CONCURRENCY: '3', DISCORD_TOKEN: 'abc' });
    expect(config.store.url).toBe('redis://127.0.0.1:6379');
    expect(config.queue.concurrency).toBe(3);
    expect(config.discord.token).toBe('abc');
  });

  it('names the key, the variable and the expectation on a bad value', () => {
    expect(() => loadConfig({ KOMA_QUEUE_CONCURRENCY: 'lots' })).toThrowError(
      /config: queue\.concurrency \(from KOMA_QUEUE_CONCURRENCY="lots"\): .*number/i,
    );
    expect(() => loadConfig({ KOMA_STORE_URL: 'mysql://x' })).toThrowError(/store\.url .*sqlite:\/\//);
  });

  it('never prints the Discord token in errors', () => {
    try {
      loadConfig({ DISCORD_TOKEN: 'secret-token', DISCORD_APPLICATION_ID: 'not-a-number' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(KomaError);
      expect(String((error as Error).message)).not.toContain('secret-token');
      expect((error as Error).message).toMatch(/discord\.applicationId/);
    }
  });

  it('merges a KOMA_CONFIG file and reports unreadable or invalid ones', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'koma-config-'));
    const file = path.join(dir, 'over.json');
    writeFileSync(file, JSON.stringify({ render: { executionProvider: 'cuda' } }));
    expect(loadConfig({ KOMA_CONFIG: file }).render.executionProvider).toBe('cuda');
    expect(loadConfig({ KOMA_CONFIG: file }).render.modelsDir).toBe('models');
    writeFileSync(file, '{ nope');
    expect(() => loadConfig({ KOMA_CONFIG: file })).toThrowError(/is not valid JSON/);
    expect(() => loadConfig({ KOMA_CONFIG: path.join(dir, 'missing.json') })).toThrowError(/cannot read/);
  });
});
