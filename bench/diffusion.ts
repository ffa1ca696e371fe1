import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readManifest } from '../src/diffusion/models/registry.js';
import { InferenceThread } from '../src/diffusion/onnx/inference-thread.js';
import { DiffusionModel } from '../src/diffusion/pipeline/diffusion-model.js';
import { generatePanels, type GenerateOptions, type PanelSpec } from '../src/diffusion/pipeline/generate-panels.js';
import { writeBenchModel } from './random-unet.js';

/**
 * The diffusion pipeline on a mid-size random-weight UNet (bench/random-unet.ts),
 * in-thread sessions, onnxruntime's default intra-op threads:
 *  - overhead: generatePanels wall time for one 512² panel (10 Euler steps, CFG,
 *    one character region → 3 UNet rows, a dialog box so calming runs) as a ratio
 *    to the sum of its UNet session.run times. Target ≤ 1.05: the JS side is noise.
 *  - batching: 4 panels in one call vs 4 calls of one panel, alternated A B B A;
 *    throughput ratio = sequential wall ÷ batched wall.
 *  - worker thread: the same single panel with the sessions in an InferenceThread
 *    (what the bot uses) vs in this thread, alternated; the ratio is the cost of
 *    copying tensors across threads.
 */

const STEPS = 10;
const SIZE = 512;
const CHANNELS = 96;
const HIDDEN = 768;

const panel = (seed: number): PanelSpec => ({
  prompt: 'a rainy street at night',
  width: SIZE,
  height: SIZE,
  seed,
  characters: [{ box: [0.55, 0.3, 0.95, 1], description: 'short black hair, red scarf' }],
  dialogBoxes: [[0.05, 0.05, 0.4, 0.25]],
});

interface RunTimes {
  wallMs: number;
  unetMs: number;
  unetCalls: number;
  /** Before the first UNet call: prompt encoding, masks, feeds, start noise. */
  preludeMs: number;
  /** Between the first UNet call's start and the last one's end, outside the UNet: the per-step JS. */
  gapsMs: number;
  /** After the last UNet call: the last step's JS, VAE decode, RGB packing. */
  tailMs: number;
  /** CPU time ÷ wall time during the UNet calls (≈ busy intra-op threads). */
  unetCpuPerWall: number;
}

export async function benchDiffusion() {
  const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'koma-bench-diffusion-'));
  let peakRss = process.memoryUsage().rss;
  const sampleRss = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  try {
    const { manifestPath, params } = writeBenchModel(modelsDir, { id: 'bench-unet', channels: CHANNELS, hidden: HIDDEN });
    const model = await DiffusionModel.load(manifestPath, await readManifest(manifestPath));
    sampleRss();
    try {
      const run = async (panels: PanelSpec[], steps = STEPS): Promise<RunTimes> => {
        let unetMs = 0;
        let unetCalls = 0;
        let firstStart = 0;
        let lastEnd = 0;
        let cpuBefore = process.cpuUsage();
        let cpuMicros = 0;
        let cpuWindowMs = 0;
        const options: GenerateOptions = {
          steps,
          guidance: 7.5,
          scheduler: 'euler',
          onUnetRun: (ms) => {
            const now = performance.now();
            if (unetCalls === 0) firstStart = now - ms;
            lastEnd = now;
            unetMs += ms;
            unetCalls++;
            // The CPU window runs from the previous step's progress event (the first call's would include prompt encoding: skipped).
            if (unetCalls > 1) {
              const cpu = process.cpuUsage(cpuBefore);
              cpuMicros += cpu.user + cpu.system;
              cpuWindowMs += ms;
            }
            sampleRss();
          },
          onProgress: () => {
            cpuBefore = process.cpuUsage();
          },
        };
        const started = performance.now();
        await generatePanels(model, panels, options);
        const ended = performance.now();
        sampleRss();
        return {
          wallMs: ended - started,
          unetMs,
          unetCalls,
          preludeMs: firstStart - started,
          gapsMs: lastEnd - firstStart - unetMs,
          tailMs: ended - lastEnd,
          unetCpuPerWall: cpuMicros / 1000 / cpuWindowMs,
        };
      };

      const batch = [1, 2, 3, 4].map((k) => panel(100 + k));
      // Warm-up: session arenas for both batch shapes, the paper latent cache, JIT.
      await run([panel(1)], 3);
      await run(batch, 2);

      const single: RunTimes[] = [];
      const batched: RunTimes[] = [];
      let batchedMs = 0;
      let sequentialMs = 0;
      const runBatched = async () => {
        const times = await run(batch);
        batched.push(times);
        batchedMs += times.wallMs;
      };
      const runSequential = async () => {
        for (const p of batch) {
          const times = await run([p]);
          single.push(times);
          sequentialMs += times.wallMs;
        }
      };
      // A B B A; the overhead ratio is taken over every single-panel run (8 of them).
      await runBatched();
      await runSequential();
      await runSequential();
      await runBatched();

      // The same panel with the sessions in a worker thread, alternated with in-thread runs.
      const thread = new InferenceThread();
      let threadedMs = 0;
      let inThreadMs = 0;
      try {
        const threaded = await DiffusionModel.load(manifestPath, await readManifest(manifestPath), { loader: (file, options) => thread.load(file, options) });
        const timed = async (which: DiffusionModel) => {
          const started = performance.now();
          await generatePanels(which, [panel(7)], { steps: STEPS, guidance: 7.5, scheduler: 'euler' });
          return performance.now() - started;
        };
        await timed(threaded);
        for (let i = 0; i < 2; i++) {
          threadedMs += await timed(threaded);
          inThreadMs += await timed(model);
          inThreadMs += await timed(model);
          threadedMs += await timed(threaded);
        }
        sampleRss();
        await threaded.release();
      } finally {
        await thread.close();
      }

      const sum = (rows: RunTimes[], key: keyof RunTimes) => rows.reduce((s, r) => s + r[key], 0);
      const mean = (rows: RunTimes[], key: keyof RunTimes) => sum(rows, key) / rows.length;
      return {
        params,
        channels: CHANNELS,
        steps: STEPS,
        size: SIZE,
        threads: 'onnxruntime default (intraOpNumThreads unset)',
        cpus: os.availableParallelism(),
        unetCpuPerWall: mean(single, 'unetCpuPerWall'),
        /** One UNet call at CFG + 1 region (3 rows). */
        unetCallMs: sum(single, 'unetMs') / sum(single, 'unetCalls'),
        pipelineMs: mean(single, 'wallMs'),
        unetMs: mean(single, 'unetMs'),
        preludeMs: mean(single, 'preludeMs'),
        gapsMs: mean(single, 'gapsMs'),
        tailMs: mean(single, 'tailMs'),
        ratio: sum(single, 'wallMs') / sum(single, 'unetMs'),
        batchedRatio: sum(batched, 'wallMs') / sum(batched, 'unetMs'),
        batchedMs: batchedMs / 2,
        sequentialMs: sequentialMs / 2,
        throughput: sequentialMs / batchedMs,
        threadedMs: threadedMs / 4,
        inThreadMs: inThreadMs / 4,
        threadRatio: threadedMs / inThreadMs,
        peakRssMb: peakRss / 1024 / 1024,
      };
    } finally {
      await model.release();
    }
  } finally {
    rmSync(modelsDir, { recursive: true, force: true });
  }
}
