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
import { retryPolicy, retrySetting } from '../node-red/retry-setting.js';
import { configureSyncQueue } from '../node-red/sync-queue.js';
import { jobError, syncJobs } from '../node-red/sync-jobs.js';
import { registerJobRoutes } from '../node-red/job-routes.js';

/** Context key of the fingerprints of what the last run (not a FAILURE) exported, for incremental runs. */
const STATE_KEY = 'exportState';
const FILL = { SUCCESS: 'green', WARNING: 'yellow', FAILURE: 'red', RUNNING: 'blue', QUEUED: 'grey', CANCELED: 'grey' } as const;

export = function (RED: NodeAPI) {
  function FhirExport(this: ExportNode, def: ExportDef) {
    RED.nodes.createNode(this, def);
    const system = bindExternalSystem(RED, this, def.system, String(def.organization ?? ''));
    const state = contextStore(this.context());
    const jobs = syncJobs(this, Number(def.retention) || 20);
    const forDate = String(def.forDate ?? '').trim();

    this.exportOptions = () => exportOptionsFrom(def, system().settings.system);
    this.checkedModel = (payload) => {
      const model = asRegistryModel(payload);
      if (forDate && model.forDate !== forDate)
        throw new Error(`the source read the registry at ${model.forDate}; this export is for ${forDate}`);
      return model;
    };

    configureSyncQueue(RED);

    const show = (job: JobRecord) => {
      const text = job.status === 'RUNNING' ? `${job.workProgress}/${job.workTotal}` : job.status;
      this.status({ fill: FILL[job.status], shape: job.status === 'RUNNING' ? 'ring' : 'dot', text });
    };

    this.on('input', async (msg: NodeMessageInFlow, send, done) => {
      try {
        const external = system();
        const model = this.checkedModel(msg.payload);
        const options = this.exportOptions();
        const previous = ((await state.get(STATE_KEY)) ?? {}) as Record<string, string>;
        let next: Record<string, string> | undefined;
        const job = await jobs.run(
          'export',
          (queued, signal) =>
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
          show,
        );
        if (!job) return done();
        if (next) await state.set(STATE_KEY, next);
        msg.payload = job;
        const failed = jobError(`export to "${external.settings.label}"`, job);
        if (failed) return done(failed);
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
  registerJobRoutes(RED, 'fhir-export');
};
