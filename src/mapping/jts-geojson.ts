// GeoJSON text as GPR writes it: JTS's GeoJsonWriter with its defaults (8 decimals, "crs" from the SRID),
// so GPR-compatible boundaries are byte for byte GPR's. Node-RED-free and pure.
import type { Geometry, Position } from 'geojson';

const SCALE = 1e8;

/** Java's Double.toString for the values JTS does not round: at least one decimal, exponent as `E`. */
function javaDouble(x: number): string {
  if (Object.is(x, -0)) return '-0.0';
  if (x === 0) return '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exponent] = x.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** GeoJsonWriter.formatOrdinate: rounded half-up to 8 decimals; integers without a fraction. */
export function jtsOrdinate(x: number): string {
  if (Math.abs(x) >= 1e-3 && x < 1e7) {
    const rounded = Math.floor(x * SCALE + 0.5) / SCALE;
    return Number.isInteger(rounded) ? String(rounded) : javaDouble(rounded);
  }
  return javaDouble(x);
}

const position = (p: Position) => `[${p.map(jtsOrdinate).join(',')}]`;
const list = <T>(items: T[], write: (item: T) => string) => `[${items.map(write).join(',')}]`;

function coordinates(g: Geometry): string {
  switch (g.type) {
    case 'Point':
      return g.coordinates.length ? position(g.coordinates) : '[]';
    case 'MultiPoint':
    case 'LineString':
      return list(g.coordinates, position);
    case 'Polygon':
    case 'MultiLineString':
      return list(g.coordinates, (ring) => list(ring, position));
    case 'MultiPolygon':
      return list(g.coordinates, (poly) => list(poly, (ring) => list(ring, position)));
    default:
      throw new Error(`no coordinates in a ${g.type}`);
  }
}

function write(g: Geometry, crs: boolean): string {
  const body =
    g.type === 'GeometryCollection'
      ? `"geometries":${list(g.geometries, (member) => write(member, false))}`
      : `"coordinates":${coordinates(g)}`;
  const tail = crs ? ',"crs":{"type":"name","properties":{"name":"EPSG:4326"}}' : '';
  return `{"type":${JSON.stringify(g.type)},${body}${tail}}`;
}

/** The GeoJSON JTS writes for `geometry` in EPSG:4326, `crs` included. */
export function jtsGeoJson(geometry: Geometry): string {
  return write(geometry, true);
}
