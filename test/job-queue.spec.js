'use strict';
// The runtime's sync-job queue and job history: order, one job per node, cancel, restart recovery.
const { expect } = require('chai');
const { JobQueue } = require('../nodes/lib/sync/job-queue.js');
const { JobStore } = require('../nodes/lib/sync/job-store.js');
const { finishJob, newJob } = require('../nodes/lib/sync/job.js');

/** A run that finishes when told to, and says when it started. */
function controllable() {
  let finish;
  let started;
  const startedP = new Promise((resolve) => (started = resolve));
  const run = (job, signal) =>
    new Promise((resolve) => {
      started({ job, signal });
      finish = () => resolve(finishJob(job));
      signal.addEventListener('abort', () => resolve(Object.assign(job, { status: 'CANCELED' })));
    });
  return { run, started: startedP, finish: () => finish() };
}

function memoryStore() {
  const data = new Map();
  return { get: async (k) => data.get(k), set: async (k, v) => void data.set(k, v) };
}

describe('job queue', function () {
  it('runs one job at a time by default, in order', async function () {
    const queue = new JobQueue();
    const a = controllable();
    const b = controllable();
    const first = queue.submit('node-a', 'export', a.run);
    const second = queue.submit('node-b', 'import', b.run);
    await a.started;
    expect(first.job.status).to.equal('RUNNING');
    expect(second.job.status).to.equal('QUEUED');
    a.finish();
    expect((await first.done).status).to.equal('SUCCESS');
    await b.started;
    expect(second.job.status).to.equal('RUNNING');
    b.finish();
    expect((await second.done).status).to.equal('SUCCESS');
  });

  it('runs up to its concurrency at once, and no more', async function () {
    const queue = new JobQueue(2);
    const runs = [controllable(), controllable(), controllable()];
    let running = 0;
    let most = 0;
    const counted = (c) => (job, signal) => {
      most = Math.max(most, ++running);
      return c.run(job, signal).finally(() => running--);
    };
    const submitted = runs.map((c, i) => queue.submit(`node-${i}`, 'export', counted(c)));
    await Promise.all([runs[0].started, runs[1].started]);
    // Two run at once; the third waits for a free place.
    expect(submitted.map((s) => s.job.status)).to.deep.equal(['RUNNING', 'RUNNING', 'QUEUED']);
    expect(running).to.equal(2);
    runs[1].finish();
    expect((await submitted[1].done).status).to.equal('SUCCESS');
    await runs[2].started;
    expect(submitted[2].job.status).to.equal('RUNNING');
    expect(submitted[0].job.status).to.equal('RUNNING');
    runs[0].finish();
    runs[2].finish();
    await Promise.all(submitted.map((s) => s.done));
    expect(most).to.equal(2);
    expect(running).to.equal(0);
  });

  it('answers a second run of the same node with the job already queued or running', async function () {
    const queue = new JobQueue();
    const a = controllable();
    const first = queue.submit('node-a', 'export', a.run);
    let ranAgain = false;
    const again = queue.submit('node-a', 'export', async (job) => ((ranAgain = true), job));
    expect(again).to.deep.include({ existing: true });
    expect(again.job.id).to.equal(first.job.id);
    await a.started;
    a.finish();
    await first.done;
    expect(ranAgain).to.equal(false);
    expect(queue.current('node-a')).to.equal(undefined);
  });

  it('cancels a queued job before it starts, and a running one through its signal', async function () {
    const queue = new JobQueue();
    const a = controllable();
    const running = queue.submit('node-a', 'export', a.run);
    let queuedRan = false;
    const queued = queue.submit('node-b', 'export', async (job) => ((queuedRan = true), job));
    expect(queue.cancel(queued.job.id)).to.equal(true);
    const cancelledQueued = await queued.done;
    expect(cancelledQueued).to.deep.include({ status: 'CANCELED' });
    expect(cancelledQueued.exception.message).to.equal('cancelled while queued');
    expect(queuedRan).to.equal(false);
    const { signal } = await a.started;
    expect(queue.cancel(running.job.id)).to.equal(true);
    expect(signal.aborted).to.equal(true);
    expect((await running.done).status).to.equal('CANCELED');
    expect(queue.cancel('no-such-job')).to.equal(false);
  });

  it('marks jobs a stopped runtime left queued or running as interrupted', async function () {
    const store = memoryStore();
    const jobs = new JobStore(store);
    const base = { ...newJob('export'), stage: 'EXPORT', workTotal: 10, objectsExported: 4, resourcesExported: 8 };
    await store.set('jobs', [
      { ...base, id: '3', status: 'RUNNING' },
      { ...base, id: '2', status: 'QUEUED', stage: 'CONNECTING' },
      { ...base, id: '1', status: 'SUCCESS' },
    ]);
    expect(await jobs.recoverInterrupted()).to.equal(2);
    const list = await jobs.list();
    expect(list.map((j) => j.status)).to.deep.equal(['FAILURE', 'FAILURE', 'SUCCESS']);
    const done = 'before the stop 4 of 10 objects were exported (8 resources), as the server answered';
    expect(list[0].exception.message).to.equal(`interrupted: the runtime stopped while this job was running; ${done}`);
    expect(list[1].exception.message).to.equal(`interrupted: the runtime stopped while this job was queued; ${done}`);
    expect(await jobs.recoverInterrupted()).to.equal(0);
  });

  it('keeps the newest records up to its retention', async function () {
    const jobs = new JobStore(memoryStore(), 2);
    for (const id of ['1', '2', '3']) await jobs.save({ ...newJob('export'), id, status: 'SUCCESS' });
    await jobs.save({ ...newJob('export'), id: '3', status: 'WARNING' });
    expect((await jobs.list()).map((j) => `${j.id}:${j.status}`)).to.deep.equal(['3:WARNING', '2:SUCCESS']);
  });
});
