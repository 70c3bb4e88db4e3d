'use strict';
// Waiting for something the runtime does in its own time (flows starting, a job finishing, a message arriving).

/** Resolves with `fn()`'s first truthy value, polling for up to 60 s; rejects naming `what` after that. */
async function until(what, fn) {
  for (let i = 0; i < 600; i++) {
    const value = await fn();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

module.exports = { until };
