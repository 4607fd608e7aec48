// worker_threads entry (dist/worker.js). The engine (pool, shared buffers, streaming, cancellation) lands
// with its own issue; the kernel it will run is src/kernel.
export {};
