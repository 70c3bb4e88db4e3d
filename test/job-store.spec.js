'use strict';
// Job records that must always be storable: rows whose data is too deep or too large are kept with a
// note instead of that data, so a job can always be saved and finished.
const { expect } = require('chai');
const { JobStore } = require('../nodes/lib/sync/job-store.js');
const { finishJob, newJob, storableJob, MAX_ROW_JSON } = require('../nodes/lib/sync/job.js');
const { JobQueue } = require('../nodes/lib/sync/job-queue.js');

/** A store that clones what it keeps, as persistent context stores serialise it. */
function cloningStore() {
  const data = new Map();
  return { get: async (k) => data.get(k), set: async (k, v) => void data.set(k, structuredClone(v)) };
}

/** A FHIR resource nested `depth` extensions deep. */
function nested(depth) {
  let resource = { url: 'http://example.org/leaf', valueString: 'x' };
  for (let i = 0; i < depth; i++) resource = { url: 'http://example.org/e', extension: [resource] };
  return { resourceType: 'Location', id: 'deep', extension: [resource] };
}

describe('job records that cannot be stored as they are', function () {
  it('keeps a row whose resource nests 5,000 deep, with a note in place of the resource', async function () {
    const deep = nested(5000);
    // The fault: this record cannot be cloned as it is.
    expect(() => structuredClone(deep)).to.throw(RangeError);
    const job = newJob('import');
    job.workTotal = 2;
    job.objectsImported = 1;
    job.errors.push({ code: 'Location/deep', severity: 'ERROR', message: 'boom', submitted: deep });
    finishJob(job);
    const store = new JobStore(cloningStore());
    await store.save(job);
    const [saved] = await store.list();
    expect(saved).to.deep.include({ id: job.id, status: 'WARNING', stage: 'COMPLETE' });
    expect(saved.errors[0]).to.deep.equal({
      code: 'Location/deep',
      severity: 'ERROR',
      message: 'boom',
      submitted: { truncated: 'what was submitted not kept: nested more than 64 levels deep' },
    });
    // The live record is left as it was.
    expect(job.errors[0].submitted).to.equal(deep);
  });

  it('keeps the start of an answer too large to store, and shortens a huge message', function () {
    const job = newJob('export');
    const huge = { resourceType: 'OperationOutcome', issue: [{ diagnostics: 'x'.repeat(MAX_ROW_JSON) }] };
    job.errors.push({ code: 'A', severity: 'ERROR', message: 'y'.repeat(50_000), response: huge, submitted: { ok: true } });
    const [row] = storableJob(job).errors;
    expect(row.response.truncated).to.match(/^the answer not kept: \d+ characters of JSON, more than 100000$/);
    expect(row.response.start).to.have.length(1000);
    expect(row.submitted).to.deep.equal({ ok: true });
    expect(row.message)
      .to.have.length.below(4100)
      .and.match(/… \(50000 characters, shortened\)$/);
  });

  it('saves one record after another, so concurrent saves lose none', async function () {
    const store = new JobStore(cloningStore());
    const jobs = [newJob('export'), newJob('export'), newJob('import')];
    await Promise.all(jobs.map((j) => store.save(j)));
    expect((await store.list()).map((j) => j.id)).to.have.members(jobs.map((j) => j.id));
  });

  it('ends a run that throws in FAILURE with its cause, never RUNNING', async function () {
    const queue = new JobQueue();
    const { done } = queue.submit('n1', 'export', async () => {
      throw new Error('Maximum call stack size exceeded');
    });
    const job = await done;
    expect(job).to.deep.include({ status: 'FAILURE', exception: { message: 'Maximum call stack size exceeded' } });
    expect(queue.current('n1')).to.equal(undefined);
  });
});

describe('recovering jobs a stopped runtime left behind', function () {
  const running = (extra) => ({ ...newJob('export'), status: 'RUNNING', stage: 'EXPORT', workTotal: 19, ...extra });

  it('takes the journal’s newer state of the job, and says what was done before the stop', async function () {
    const store = new JobStore(cloningStore());
    const job = running({ stage: 'CONNECTING' });
    await store.save(job);
    const latest = { ...job, stage: 'EXPORT', workProgress: 8, objectsExported: 8, resourcesExported: 16 };
    expect(await store.recoverInterrupted(Promise.resolve(latest))).to.equal(1);
    const [saved] = await store.list();
    expect(saved).to.deep.include({ id: job.id, status: 'FAILURE', objectsExported: 8 });
    expect(saved.exception.message).to.equal(
      'interrupted: the runtime stopped while this job was running; before the stop 8 of 19 objects were exported (16 resources), as the server answered',
    );
  });

  it('adds an unfinished job the history never saved, and keeps a finished record over an older journal', async function () {
    const store = new JobStore(cloningStore());
    const older = finishJob(running({ objectsExported: 19, resourcesExported: 38 }));
    await store.save(older);
    await store.recoverInterrupted(Promise.resolve({ ...older, status: 'RUNNING' }));
    expect((await store.list())[0].status).to.equal('SUCCESS');
    const unsaved = running({ status: 'QUEUED', stage: 'CONNECTING' });
    await store.recoverInterrupted(Promise.resolve(unsaved));
    const [first] = await store.list();
    expect(first).to.deep.include({ id: unsaved.id, status: 'FAILURE' });
    expect(first.exception.message).to.match(/^interrupted: the runtime stopped while this job was queued; before the stop 0 of 19/);
  });
});
