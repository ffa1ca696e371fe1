import { benchCompose } from './compose.js';
import { benchDiffusion } from './diffusion.js';

/** `npm run bench`: every benchmark prints a ratio measured side by side in this run. */
const compose = await benchCompose();
console.log(
  `compose: 6 panels + ${compose.balloons} balloons at 1600 px: ${compose.composeMs.toFixed(1)} ms vs sharp-only ${compose.sharpMs.toFixed(1)} ms ` +
    `= ratio ${compose.ratio.toFixed(2)} (target ≤ 2.0); peak RSS ${compose.peakRssMb.toFixed(0)} MB`,
);

const diffusion = await benchDiffusion();
console.log(
  `diffusion: random UNet ${(diffusion.params / 1e6).toFixed(2)} M params (C=${diffusion.channels}), ${diffusion.unetCallMs.toFixed(1)} ms per call at 3 rows; ` +
    `intra-op threads: ${diffusion.threads}, ${diffusion.cpus} CPUs, CPU/wall in session.run ×${diffusion.unetCpuPerWall.toFixed(2)}`,
);
console.log(
  `diffusion: ${diffusion.size}² ${diffusion.steps} steps CFG+1 region: pipeline ${diffusion.pipelineMs.toFixed(1)} ms vs Σ session.run ${diffusion.unetMs.toFixed(1)} ms ` +
    `= ratio ${diffusion.ratio.toFixed(3)} (target ≤ 1.05); outside the UNet: prelude ${diffusion.preludeMs.toFixed(1)} ms, ` +
    `between steps ${diffusion.gapsMs.toFixed(1)} ms, tail ${diffusion.tailMs.toFixed(1)} ms`,
);
console.log(
  `diffusion: batch 4 in ${diffusion.batchedMs.toFixed(0)} ms vs 4 × batch 1 in ${diffusion.sequentialMs.toFixed(0)} ms ` +
    `= throughput ×${diffusion.throughput.toFixed(2)} (batched ratio to Σ session.run ${diffusion.batchedRatio.toFixed(3)}); peak RSS ${diffusion.peakRssMb.toFixed(0)} MB`,
);
console.log(
  `diffusion: sessions in the worker thread ${diffusion.threadedMs.toFixed(1)} ms vs in this thread ${diffusion.inThreadMs.toFixed(1)} ms per panel = ratio ${diffusion.threadRatio.toFixed(3)}`,
);
