// fhir-import: on any input (the "Run now" inject), read Locations (and their Organizations) from the
// external system through a transform into geo-objects; one job per run (see defineSyncNode).
// msg.fullResync = true ignores the watermark once.
import type { Location, Organization } from '@medplum/fhirtypes';
import type { NodeAPI, NodeDef, Node } from 'node-red';
import type { Transform } from '../sync/import-run.js';
import type { ImportTarget } from '../sync/import-target.js';
import type { RawImportConfig } from '../sync/import-options.js';
import type { TransformContext } from '../mapping/fhir-to-registry.js';
import { bindExternalSystem, syncIdentityOf } from '../node-red/external-system-node.js';
import { contextStore } from '../node-red/context-store.js';
import { EMBEDDED_REGISTRY_KEY } from '../node-red/embedded-registry.js';
import { gprConnectionOf } from '../node-red/gpr-registry-node.js';
import { defineSyncNode, registerSyncNode } from '../node-red/sync-node.js';
import { defaultTransform } from '../mapping/fhir-to-registry.js';
import { transformResult } from '../mapping/transform-output.js';
import { moduleTransform } from '../mapping/transform-module.js';
import { pick } from '../sync/export-options.js';
import { importOptionsFrom } from '../sync/import-options.js';
import { runImport } from '../sync/import-run.js';
import { today } from '../registry/model.js';

type ImportDef = NodeDef &
  RawImportConfig & {
    organization?: string;
    system?: string;
    incremental?: boolean;
    processor?: string;
    transform?: string;
    module?: string;
    target?: string;
    registry?: string;
    retention?: unknown;
  };

export = function (RED: NodeAPI) {
  function FhirImport(this: Node, def: ImportDef) {
    RED.nodes.createNode(this, def);
    const system = bindExternalSystem(RED, this, def.system, String(def.organization ?? ''));

    let transform: Transform = defaultTransform;
    let problem: string | undefined;
    try {
      const processor = pick('implementation', ['default', 'jsonata', 'module'] as const, def.processor, 'default');
      if (processor === 'jsonata') {
        const expr = RED.util.prepareJSONataExpression(String(def.transform ?? ''), this);
        transform = (resource: Location | Organization, ctx: TransformContext) =>
          new Promise((res, rej) =>
            RED.util.evaluateJSONataExpression(
              expr,
              { resourceType: resource.resourceType, resource, system: ctx.system, hierarchy: ctx.hierarchy } as never,
              (err, value) => (err ? rej(err) : res(transformResult(value, ctx.hierarchy))),
            ),
          );
      } else if (processor === 'module') {
        transform = moduleTransform(String(RED.settings.userDir ?? process.cwd()), String(def.module ?? ''));
      }
    } catch (err) {
      problem = `transform: ${(err as Error).message}`;
    }

    /** Where the run's objects go; throws when the target is unknown or its registry is missing. */
    const targetOf = (): ImportTarget => {
      const target = pick('write to', ['emit', 'embedded', 'gpr'] as const, def.target, 'emit');
      if (target === 'embedded') return { kind: 'embedded', store: contextStore(this.context().global), key: EMBEDDED_REGISTRY_KEY };
      if (target === 'gpr') return { kind: 'gpr', connection: gprConnectionOf(RED, def.registry) };
      return { kind: 'emit' };
    };

    defineSyncNode(RED, this, {
      kind: 'import',
      stateKey: 'importState',
      retrySetting: 'fhirImportRetry',
      retention: def.retention,
      problem,
      settings: () => ({ options: importOptionsFrom(def, system().settings.system), target: targetOf() }),
      // History and the watermark belong to this sync: a server, a hierarchy, a mapping.
      identity: syncIdentityOf(system, {
        hierarchy: def.hierarchy ?? '',
        mapping: [
          def.resourceType,
          def.includeOrganizations,
          def.searchParams,
          def.processor,
          def.transform,
          def.module,
          def.target,
          def.registry,
        ],
      }),
      prepare: (msg, { options, target }) => {
        const external = system();
        const full = (msg as { fullResync?: unknown }).fullResync === true || def.incremental === false;
        return {
          what: `import from "${external.settings.label}"`,
          run: async ({ job, signal, saved, retry, progress }) => {
            const since = (saved as { since?: string } | undefined)?.since;
            const result = await runImport({
              options,
              connection: external.connection,
              transform,
              retry,
              ...(full || !since ? {} : { since }),
              forDate: today(),
              onProgress: progress,
              job,
              signal,
              target,
            });
            // The watermark: the start of this run, kept once it has finished.
            return { job: result.job, state: { since: result.job.startedAt }, payload: result.model };
          },
        };
      },
    });
  }

  registerSyncNode(RED, 'fhir-import', FhirImport, 'fhirImportRetry');
};
