// A generated registry for the benchmarks: one country, 10 regions, 100 districts and n - 111 facilities,
// with square boundaries and facility points. Each object is read back from its JSON text, as a registry read from
// GPR is: built in place, its labels would be concatenations, which the export's first look at them flattens into
// copies that then count as the export's own memory.
const parsed = (value) => JSON.parse(JSON.stringify(value));

export function syntheticRegistry(n) {
  const square = (x, y, s) => ({
    type: 'Polygon',
    coordinates: [
      [
        [x, y],
        [x + s, y],
        [x + s, y + s],
        [x, y + s],
        [x, y],
      ],
    ],
  });
  const type = (code, geometryType) => ({ code, label: { default: code }, geometryType, isAbstract: false });
  const objects = [{ code: 'C', type: 'Country', label: { default: 'Country' }, exists: true, invalid: false, geometry: square(0, 0, 10) }];
  const links = [];
  const add = (code, t, parent, geometry) => {
    objects.push(parsed({ code, type: t, label: { default: `${t} ${code}` }, exists: true, invalid: false, geometry }));
    links.push({
      hierarchy: 'H',
      childCode: code,
      childType: t,
      parentCode: parent,
      parentType: objects.find((o) => o.code === parent)?.type ?? 'District',
    });
  };
  for (let r = 0; r < 10; r++) add(`R${r}`, 'Region', 'C', square(r, 0, 1));
  for (let d = 0; d < 100; d++) add(`D${d}`, 'District', `R${d % 10}`, square(d % 10, Math.floor(d / 10), 0.9));
  for (let f = 0; objects.length < n; f++) {
    const d = f % 100;
    objects.push(
      parsed({
        code: `F${f}`,
        type: 'Facility',
        label: { default: `Facility ${f}` },
        exists: true,
        invalid: false,
        geometry: { type: 'MultiPoint', coordinates: [[(d % 10) + 0.5, Math.floor(d / 10) + 0.5]] },
      }),
    );
    links.push({ hierarchy: 'H', childCode: `F${f}`, childType: 'Facility', parentCode: `D${d}`, parentType: 'District' });
  }
  return {
    forDate: '2026-01-01',
    types: [
      type('Country', 'MULTIPOLYGON'),
      type('Region', 'MULTIPOLYGON'),
      type('District', 'MULTIPOLYGON'),
      type('Facility', 'MULTIPOINT'),
    ],
    hierarchies: [
      {
        code: 'H',
        label: { default: 'H' },
        tree: [
          {
            type: 'Country',
            children: [{ type: 'Region', children: [{ type: 'District', children: [{ type: 'Facility', children: [] }] }] }],
          },
        ],
      },
    ],
    objects,
    links,
  };
}
