// Geometry checks, centroids and WKT, with jsts (the JavaScript port of JTS, which GPR itself uses, so
// centroids are the same area-weighted ones GPR writes). Node-RED-free.
import type { Geometry } from 'geojson';
import type { GeometryType } from './model.js';

interface Jsts {
  fromGeoJson(g: Geometry): JstsGeometry;
  fromWkt(text: string): JstsGeometry;
  toGeoJson(g: JstsGeometry): Geometry;
  centroid(g: JstsGeometry): { x: number; y: number };
  validationError(g: JstsGeometry): string | undefined;
}

type JstsGeometry = import('jsts/org/locationtech/jts/geom/Geometry.js').default;

let jsts: Promise<Jsts> | undefined;

// jsts is ESM-only: loaded on first use.
function load(): Promise<Jsts> {
  jsts ??= (async () => {
    const [
      { default: GeometryFactory },
      { default: GeoJSONReader },
      { default: WKTReader },
      { default: GeoJSONWriter },
      { default: Centroid },
      { default: IsValidOp },
    ] = await Promise.all([
      import('jsts/org/locationtech/jts/geom/GeometryFactory.js'),
      import('jsts/org/locationtech/jts/io/GeoJSONReader.js'),
      import('jsts/org/locationtech/jts/io/WKTReader.js'),
      import('jsts/org/locationtech/jts/io/GeoJSONWriter.js'),
      import('jsts/org/locationtech/jts/algorithm/Centroid.js'),
      import('jsts/org/locationtech/jts/operation/valid/IsValidOp.js'),
    ]);
    const factory = new GeometryFactory();
    const reader = new GeoJSONReader(factory);
    const wkt = new WKTReader(factory);
    const writer = new GeoJSONWriter();
    return {
      fromGeoJson: (g) => reader.read(g) as JstsGeometry,
      fromWkt: (text) => wkt.read(text),
      toGeoJson: (g) => writer.write(g) as Geometry,
      centroid: (g) => Centroid.getCentroid(g),
      validationError: (g) => {
        const op = new IsValidOp(g);
        return op.isValid() ? undefined : String(op.getValidationError());
      },
    };
  })();
  return jsts;
}

/** Start loading jsts ahead of the first geometry (a failure shows at that geometry). */
export function preloadGeometry(): void {
  load().catch(() => undefined);
}

export interface Position {
  longitude: number;
  latitude: number;
}

export interface Inspected {
  /** JTS's area-weighted centroid (computed for invalid geometries too, as GPR does). */
  centroid: Position;
  /** Why the geometry is not valid (OGC), e.g. "Self-intersection at or near point …". */
  defect?: string;
}

/** The positions of a Point or MultiPoint of plain finite coordinates, else undefined. */
function finitePoints(geometry: Geometry): number[][] | undefined {
  const points = geometry.type === 'Point' ? [geometry.coordinates] : geometry.type === 'MultiPoint' ? geometry.coordinates : undefined;
  if (!Array.isArray(points) || !points.length) return undefined;
  for (const p of points)
    if (!Array.isArray(p) || p.length < 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  return points;
}

/**
 * Centroid of a Point or MultiPoint of finite coordinates, which is valid: JTS's mean, without JTS, and at once (no
 * promise for each of 100k facilities). Undefined for any other geometry.
 */
export function inspectPoints(geometry: Geometry): Inspected | undefined {
  const points = finitePoints(geometry);
  if (!points) return undefined;
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return { centroid: { longitude: x / points.length, latitude: y / points.length } };
}

/** Centroid and validity of a geometry; throws a message naming the problem when it cannot be read or is empty. */
export async function inspectGeometry(geometry: Geometry): Promise<Inspected> {
  const points = inspectPoints(geometry);
  if (points) return points;
  const j = await load();
  let g: JstsGeometry;
  try {
    g = j.fromGeoJson(geometry);
  } catch (err) {
    throw new Error(`geometry cannot be read: ${(err as Error).message}`);
  }
  const c = j.centroid(g);
  if (!Number.isFinite(c.x) || !Number.isFinite(c.y)) throw new Error('geometry is empty');
  const defect = j.validationError(g);
  return { centroid: { longitude: c.x, latitude: c.y }, ...(defect ? { defect: `geometry is invalid: ${defect}` } : {}) };
}

/** WKT (keywords in any case, as GPR exports them) to a GeoJSON geometry. */
export async function wktToGeometry(text: string): Promise<Geometry> {
  const j = await load();
  try {
    return j.toGeoJson(j.fromWkt(text));
  } catch (err) {
    throw new Error(`WKT cannot be read: ${(err as Error).message}`);
  }
}

/** GPR's geometry type of each GeoJSON geometry type (a GeometryCollection has none). */
const GEOMETRY_TYPE: Record<string, GeometryType> = {
  Point: 'POINT',
  MultiPoint: 'MULTIPOINT',
  LineString: 'LINE',
  MultiLineString: 'MULTILINE',
  Polygon: 'POLYGON',
  MultiPolygon: 'MULTIPOLYGON',
};

/** GPR's geometry type for a GeoJSON (or WKT) geometry type name, in any case; undefined when it has none. */
export function gprGeometryType(name: string | undefined): GeometryType | undefined {
  if (!name) return undefined;
  const lower = name.toLowerCase();
  return Object.entries(GEOMETRY_TYPE).find(([k]) => k.toLowerCase() === lower)?.[1];
}
