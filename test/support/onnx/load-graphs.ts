import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OnnxComponent } from '../../../src/diffusion/onnx/session.js';

/** Writes test graphs to a temp folder, loads them with the real OnnxComponent, releases them all at the end. */
export class TestGraphs {
  private readonly dir: string;
  private readonly loaded: OnnxComponent[] = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  }

  /** The graph's file path (for loaders other than OnnxComponent). */
  write(name: string, bytes: Uint8Array): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, bytes);
    return file;
  }

  async load(name: string, bytes: Uint8Array): Promise<OnnxComponent> {
    const component = await OnnxComponent.load(this.write(name, bytes));
    this.loaded.push(component);
    return component;
  }

  async releaseAll(): Promise<void> {
    for (const component of this.loaded.splice(0)) await component.release();
  }
}
