// fhir-export: on any input (the "Run now" inject), export the registry model on msg.payload to the
// external system as mCSD Organizations and Locations; one job per run (see defineSyncNode). Preview changes
// says what a run of the source's model would do, writing nothing.
import type { NodeAPI } from 'node-red';
import type { ExportDef, ExportNode } from '../node-red/export-node.js';
import type { RegistryModel } from '../registry/model.js';
import { bindExternalSystem, syncIdentityOf } from '../node-red/external-system-node.js';
import { deployedNode } from '../node-red/deployed-node.js';
import { defineSyncNode, registerSyncNode } from '../node-red/sync-node.js';
import { registerBundleRoute, registerFormBundleRoute } from '../node-red/bundle-route.js';
import { registerPreviewRoute } from '../node-red/preview-route.js';
import { syncStateOf } from '../node-red/sync-state.js';
import { retryPolicy } from '../node-red/retry-setting.js';
import { asRegistryModel, asRegistryModelHint, checkedForDate } from '../registry/model.js';
import { exportOptionsFrom } from '../sync/export-options.js';
import { runExport } from '../sync/export-run.js';
import { previewExport } from '../sync/export-preview.js';
import { finishJob } from '../sync/job.js';
import { wholeNumber } from '../settings/whole-number.js';

/** Where a run's fingerprints are kept, and the settings.js name of its retry policy. */
const STATE_KEY = 'exportState';
const RETRY_SETTING = 'fhirExportRetry';

export = function (RED: NodeAPI) {
  function FhirExport(this: ExportNode, def: ExportDef) {
    RED.nodes.createNode(this, def);
    const system = bindExternalSystem(RED, this, def.system, String(def.organization ?? ''));
    const forDate = String(def.forDate ?? '').trim();

    this.exportOptions = () => {
      checkedForDate(forDate);
      return exportOptionsFrom(def, system().settings.system);
    };
    this.checkedModel = (payload) => {
      const model = asRegistryModel(payload);
      if (forDate && model.forDate !== forDate)
        throw new Error(`the source read the registry at ${model.forDate}; this export is for ${forDate}`);
      return model;
    };
    /** The model of a run: on msg.payload, else read from the configured source node (Run now). */
    const modelOf = (payload: unknown): (() => Promise<RegistryModel>) => {
      if (payload && typeof payload === 'object') {
        const model = this.checkedModel(payload);
        return async () => model;
      }
      const source = deployedNode(RED, def.source, 'gpr-hierarchy-source');
      if (!source) throw new Error(`${asRegistryModelHint}; or select a registry source for Run now`);
      // Run now asks the source for this export's For date: one date to set.
      return async () => this.checkedModel(await source.readModel(forDate || undefined));
    };
    this.readSource = async () => modelOf(undefined)();
    const concurrencyOf = () => wholeNumber('concurrency', def.concurrency, 2);
    /** The model `read` gives, its failure said as the registry's (a run's FAILURE, Preview changes' answer). */
    const fromRegistry = async (read: () => Promise<RegistryModel>): Promise<RegistryModel> => {
      try {
        return await read();
      } catch (err) {
        throw new Error(`reading the registry: ${(err as Error).message}`);
      }
    };
    this.previewChanges = (signal) => {
      const external = system();
      const options = this.exportOptions();
      const read = modelOf(undefined);
      return (async () => {
        const model = await fromRegistry(read);
        // What the last finished run left: an incremental preview leaves out what it sent unchanged.
        const saved = (await syncStateOf(this).get(STATE_KEY)) as Record<string, string> | undefined;
        const retry = retryPolicy(RED, RETRY_SETTING);
        return previewExport({ model, options, previous: saved ?? {}, connection: external.connection, retry, signal });
      })();
    };

    defineSyncNode(RED, this, {
      kind: 'export',
      stateKey: STATE_KEY,
      retrySetting: RETRY_SETTING,
      retention: def.retention,
      settings: () => ({ options: this.exportOptions(), concurrency: concurrencyOf() }),
      // History and incremental state belong to this sync: a server, a hierarchy, a mapping.
      identity: syncIdentityOf(system, {
        hierarchy: { hierarchies: def.hierarchies ?? '', source: def.source ?? '' },
        mapping: [def.implementation, def.levels, def.idStrategy, def.partOfHierarchy, def.locationPartOf, def.gprCompat],
      }),
      prepare: (msg, { options, concurrency }) => {
        const external = system();
        const read = modelOf(msg.payload);
        return {
          what: `export to "${external.settings.label}"`,
          run: async ({ job, signal, saved, retry, progress }) => {
            let model: RegistryModel;
            try {
              model = await fromRegistry(read);
            } catch (err) {
              return { job: finishJob(job, { message: (err as Error).message }) };
            }
            let state: Record<string, string> | undefined;
            const done = await runExport({
              model,
              options,
              previous: (saved ?? {}) as Record<string, string>,
              onState: (fingerprints) => (state = fingerprints),
              connection: external.connection,
              concurrency,
              retry,
              onProgress: progress,
              job,
              signal,
            });
            return { job: done, state };
          },
        };
      },
    });
  }

  // fhirExportJobConcurrency sizes the one queue of every sync node; Node-RED lets only the type its name
  // starts with register it.
  registerSyncNode(RED, 'fhir-export', FhirExport, RETRY_SETTING, { fhirExportJobConcurrency: { value: 1, exportable: false } });
  registerBundleRoute(RED, 'fhir-export', (node) => node as ExportNode);
  registerPreviewRoute(RED);
  registerFormBundleRoute(RED);
};
