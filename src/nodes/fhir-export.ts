// fhir-export: on any input (the "Run now" inject), export the registry model on msg.payload to the
// external system as mCSD Organizations and Locations; one job per run.
import type { NodeAPI, NodeMessageInFlow } from 'node-red';
import type { ExportDef, ExportNode } from '../node-red/export-node.js';
import type { JobRecord } from '../sync/job.js';
import { bindExternalSystem } from '../node-red/external-system-node.js';
import { contextStore } from '../node-red/context-store.js';
import { asRegistryModel } from '../registry/model.js';
import { exportOptionsFrom } from '../sync/export-options.js';
import { runExport } from '../sync/export-run.js';
import { JobStore } from '../sync/job-store.js';
import { retryPolicy, retrySetting } from '../node-red/retry-setting.js';
import { configureSyncQueue, syncQueue } from '../node-red/sync-queue.js';

/** Context key of the fingerprints of what the last run (not a FAILURE) exported, for incremental runs. */
const STATE_KEY = 'exportState';
const FILL = { SUCCESS: 'green', WARNING: 'yellow', FAILURE: 'red', RUNNING: 'blue', QUEUED: 'grey', CANCELED: 'grey' } as const;

export = function (RED: NodeAPI) {
  function FhirExport(this: ExportNode, def: ExportDef) {
    RED.nodes.createNode(this, def);
    const system = bindExternalSystem(RED, this, def.system, String(def.organization ?? ''));
    const state = contextStore(this.context());
    const jobs = new JobStore(state, Number(def.retention) || 20);
    const forDate = String(def.forDate ?? '').trim();

    this.exportOptions = () => exportOptionsFrom(def, system().settings.system);
    this.checkedModel = (payload) => {
      const model = asRegistryModel(payload);
      if (forDate && model.forDate !== forDate)
        throw new Error(`the source read the registry at ${model.forDate}; this export is for ${forDate}`);
      return model;
    };

    // Jobs a stopped runtime left running can never finish.
    jobs.recoverInterrupted().catch((err: Error) => this.error(`job history: ${err.message}`));
    configureSyncQueue(RED);

    const show = (job: JobRecord) => {
      const text = job.status === 'RUNNING' ? `${job.workProgress}/${job.workTotal}` : job.status;
      this.status({ fill: FILL[job.status], shape: job.status === 'RUNNING' ? 'ring' : 'dot', text });
    };

    // Stopping the node (redeploy, shutdown) cancels its job; the close waits until the job has stopped.
    this.on('close', (_removed: boolean, closed: () => void) => {
      const active = syncQueue.current(this.id);
      if (!active) return closed();
      syncQueue.cancel(active.id);
      syncQueue.settled(active.id).then(closed, closed);
    });

    this.on('input', async (msg: NodeMessageInFlow, send, done) => {
      try {
        const external = system();
        const model = this.checkedModel(msg.payload);
        const options = this.exportOptions();
        const previous = ((await state.get(STATE_KEY)) ?? {}) as Record<string, string>;
        let next: Record<string, string> | undefined;
        const submitted = syncQueue.submit(this.id, 'export', (queued, signal) =>
          runExport({
            model,
            options,
            previous,
            onState: (fingerprints) => (next = fingerprints),
            connection: external.connection,
            concurrency: Number(def.concurrency) || 2,
            retry: retryPolicy(RED, 'fhirExportRetry'),
            onProgress: show,
            job: queued,
            signal,
          }),
        );
        if (submitted.existing) {
          this.warn(`not started: job ${submitted.job.id} of this node is already ${submitted.job.status.toLowerCase()}`);
          return done();
        }
        show(submitted.job);
        await jobs.save(submitted.job);
        const job = await submitted.done;
        await jobs.save(job);
        if (next) await state.set(STATE_KEY, next);
        msg.payload = job;
        if (job.status === 'FAILURE' || job.status === 'CANCELED') {
          const why = job.status === 'CANCELED' ? job.exception?.message : `failed: ${job.exception?.message}`;
          return done(new Error(`export to "${external.settings.label}" ${why}`));
        }
        send(msg);
        done();
      } catch (err) {
        this.status({ fill: 'red', shape: 'dot', text: 'error' });
        done(err as Error);
      }
    });
  }

  RED.nodes.registerType('fhir-export', FhirExport, {
    settings: { ...retrySetting('fhirExportRetry'), fhirExportJobConcurrency: { value: 1, exportable: false } },
  });
};
