// What the export dialog's Org Units table offers: the registry's hierarchies, and for the chosen ones each
// Geo-Object Type an export would send by default (parents first, abstract types by their subtypes) with the
// type coding and kind it would get. Node-RED-free.
import type { Hierarchy, RegistryModel } from '../registry/model.js';
import type { Coding, Implementation } from './levels.js';
import { resolveLevels } from './levels.js';

export interface LevelChoice {
  geoObjectType: string;
  label: string;
  geometryType: string;
  /** The type coding an export writes without a configured one (its system is the external system's System). */
  fhirType: Omit<Coding, 'system'>;
  /** What kind "auto" gives: MULTIPOINT types are facilities (GPR's rule). */
  facility: boolean;
  /** The chosen hierarchies in which the type has parent types. */
  parentHierarchies: string[];
}

export interface LevelChoices {
  forDate: string;
  hierarchies: { code: string; label: string }[];
  /** Codes asked for that the registry does not have. */
  unknownHierarchies: string[];
  levels: LevelChoice[];
}

/** The hierarchies of `model` named by `codes` (empty = all), and the codes it does not have. */
export function chosenHierarchies(model: RegistryModel, codes: string[]): { chosen: Hierarchy[]; unknown: string[] } {
  const known = new Map(model.hierarchies.map((h) => [h.code, h]));
  return {
    chosen: codes.length ? codes.flatMap((c) => (known.has(c) ? [known.get(c) as Hierarchy] : [])) : model.hierarchies,
    unknown: codes.filter((c) => !known.has(c)),
  };
}

/** The default levels of `hierarchyCodes` (empty = every hierarchy) in `model`. */
export function levelChoices(model: RegistryModel, hierarchyCodes: string[], implementation: Implementation = 'mcsd'): LevelChoices {
  const { chosen, unknown } = chosenHierarchies(model, hierarchyCodes);
  const levels = resolveLevels(model, chosen, '', implementation).map((l): LevelChoice => ({
    geoObjectType: l.type.code,
    label: l.type.label.default,
    geometryType: l.type.geometryType,
    fhirType: { code: l.fhirType.code, display: l.fhirType.display },
    facility: l.facility,
    parentHierarchies: l.parentHierarchies,
  }));
  return {
    forDate: model.forDate,
    hierarchies: model.hierarchies.map((h) => ({ code: h.code, label: h.label.default })),
    unknownHierarchies: unknown,
    levels,
  };
}
