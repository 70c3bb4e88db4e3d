// Hierarchy preview: what a deployed gpr-hierarchy-source would give an export (admin route
// gpr-hierarchy-source/<id>/preview): counts per level, the objects as a tree, and their geometries drawn on a
// plain canvas (no tile server), with invalid geometries and missing parents highlighted.
(function () {
  if (window.geofhirPreview) return;
  $('head').append(
    $('<style>').text(
      [
        '.geofhir-preview { margin-top: 6px; border: 1px solid var(--red-ui-secondary-border-color); padding: 6px; overflow-wrap: anywhere; }',
        '.geofhir-preview table { border-collapse: collapse; margin-bottom: 6px; }',
        '.geofhir-preview th, .geofhir-preview td { text-align: left; padding: 1px 8px 1px 0; }',
        '.geofhir-preview canvas { width: 100%; height: 320px; display: block; background: var(--red-ui-secondary-background); border: 1px solid var(--red-ui-tertiary-border-color); }',
        '.geofhir-preview-tree { max-height: 260px; overflow: auto; margin-top: 6px; font-size: 0.95em; }',
        '.geofhir-preview-tree ul { list-style: none; margin: 0 0 0 14px; padding: 0; }',
        '.geofhir-preview-tree > ul { margin-left: 0; }',
        '.geofhir-preview-tree li > span { cursor: pointer; }',
        '.geofhir-preview-tree li > span.geofhir-preview-selected { text-decoration: underline; font-weight: bold; }',
        '.geofhir-preview-invalid { color: var(--red-ui-text-color-error); }',
        '.geofhir-preview-orphan { color: var(--red-ui-text-color-warning); }',
        '.geofhir-preview-note { color: var(--red-ui-secondary-text-color); }',
      ].join('\n'),
    ),
  );

  function t(key, values) {
    return RED._('@geofhir/node-red-geofhir/gpr-hierarchy-source:gpr-hierarchy-source.preview.' + key, values);
  }

  function cssVar(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  /** Draw the objects of `h` on `canvas`, `selected` (a code) emphasised. */
  function draw(canvas, preview, h, selected) {
    const box = canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(box.width * ratio));
    canvas.height = Math.max(1, Math.round(box.height * ratio));
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!preview.bbox) return;
    const [w, s, e, n] = preview.bbox;
    // Equirectangular, longitudes shortened by the cosine of the middle latitude.
    const k = Math.cos((((s + n) / 2) * Math.PI) / 180);
    const spanX = Math.max((e - w) * k, 1e-6);
    const spanY = Math.max(n - s, 1e-6);
    const pad = 10 * ratio;
    const scale = Math.min((canvas.width - 2 * pad) / spanX, (canvas.height - 2 * pad) / spanY);
    const ox = (canvas.width - spanX * scale) / 2;
    const oy = (canvas.height - spanY * scale) / 2;
    const xy = (p) => [ox + (p[0] - w) * k * scale, oy + (n - p[1]) * scale];
    const palette = ['#6b8fb3', '#8fb36b', '#b38f6b', '#9b6bb3', '#6bb3a8', '#b36b8f'];
    const colourOf = {};
    h.levels.forEach((l, i) => (colourOf[l.type] = palette[i % palette.length]));
    const error = cssVar('--red-ui-text-color-error', '#d00');
    const warning = cssVar('--red-ui-text-color-warning', '#e90');
    const text = cssVar('--red-ui-primary-text-color', '#333');
    const order = h.objects.slice().sort((a, b) => (a.code === selected) - (b.code === selected));
    order.forEach(function (o) {
      if (!o.shape) return;
      const base = colourOf[o.type] || palette[0];
      const stroke = o.code === selected ? text : o.invalid ? error : o.missingParent ? warning : base;
      ctx.lineWidth = (o.code === selected || o.invalid || o.missingParent ? 2.5 : 1) * ratio;
      ctx.strokeStyle = stroke;
      ctx.fillStyle = base + '33';
      ctx.setLineDash(o.missingParent && !o.invalid ? [4 * ratio, 3 * ratio] : []);
      (o.shape.rings || []).forEach(function (ring) {
        ctx.beginPath();
        ring.forEach((p, i) => (i ? ctx.lineTo(...xy(p)) : ctx.moveTo(...xy(p))));
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      });
      (o.shape.paths || []).forEach(function (path) {
        ctx.beginPath();
        path.forEach((p, i) => (i ? ctx.lineTo(...xy(p)) : ctx.moveTo(...xy(p))));
        ctx.stroke();
      });
      ctx.setLineDash([]);
      (o.shape.points || []).forEach(function (p) {
        const [x, y] = xy(p);
        ctx.beginPath();
        ctx.arc(x, y, (o.code === selected ? 4 : 2.5) * ratio, 0, 2 * Math.PI);
        ctx.fillStyle = o.invalid ? error : o.missingParent ? warning : o.code === selected ? text : base;
        ctx.fill();
      });
    });
  }

  function flags(o) {
    return [o.invalid, o.missingParent].filter(Boolean).join('; ');
  }

  /** The tree of `h`: roots are objects without a parent among the previewed ones. */
  function tree(h, onSelect) {
    const children = {};
    const roots = [];
    h.objects.forEach(function (o) {
      if (o.parent) (children[o.parent] = children[o.parent] || []).push(o);
      else roots.push(o);
    });
    const item = function (o, depth) {
      const li = $('<li>').attr('data-code', o.code);
      const kids = children[o.code] || [];
      const label = $('<span>')
        .text(o.label + ' (' + o.type + ' ' + o.code + ')' + (kids.length ? ' · ' + kids.length : ''))
        .toggleClass('geofhir-preview-invalid', !!o.invalid)
        .toggleClass('geofhir-preview-orphan', !o.invalid && !!o.missingParent)
        .attr('title', flags(o))
        .on('click', function () {
          onSelect(o.code);
        })
        .appendTo(li);
      if (o.invalid) label.prepend('<i class="fa fa-exclamation-triangle"></i> ');
      else if (o.missingParent) label.prepend('<i class="fa fa-chain-broken"></i> ');
      if (kids.length) {
        const ul = $('<ul>').appendTo(li);
        if (depth >= 1) ul.hide();
        label.on('dblclick', () => ul.toggle());
        kids.forEach((k) => item(k, depth + 1).appendTo(ul));
      }
      return li;
    };
    const ul = $('<ul>');
    roots.forEach((r) => item(r, 0).appendTo(ul));
    return ul;
  }

  function render(container, preview) {
    container.empty();
    const head = $('<div class="geofhir-preview-note">').appendTo(container);
    head.text(t('at', { date: preview.forDate }) + (preview.thinned ? ' · ' + t('thinned') : ''));
    if (preview.unknownHierarchies.length)
      $('<div class="geofhir-preview-invalid">')
        .text(t('unknownHierarchies', { codes: preview.unknownHierarchies.join(', ') }))
        .appendTo(container);
    if (!preview.hierarchies.length) return $('<div>').text(t('nothing')).appendTo(container);
    let current = preview.hierarchies[0];
    let selected = null;
    const select = $('<select class="geofhir-preview-hierarchy">').appendTo(container);
    preview.hierarchies.forEach((h) =>
      $('<option>')
        .val(h.code)
        .text(h.label + ' (' + h.code + ')')
        .appendTo(select),
    );
    if (preview.hierarchies.length < 2) select.hide();
    const levels = $('<table class="geofhir-preview-levels">').appendTo(container);
    const canvas = $('<canvas class="geofhir-preview-map">').appendTo(container)[0];
    const list = $('<div class="geofhir-preview-tree">').appendTo(container);
    const detail = $('<div class="geofhir-preview-detail">').appendTo(container);
    const show = function () {
      levels.empty();
      $('<tr>')
        .append($('<th>').text(t('level')), $('<th>').text(t('count')), $('<th>').text(t('invalid')), $('<th>').text(t('missingParent')))
        .appendTo(levels);
      current.levels.forEach(function (l) {
        $('<tr>')
          .attr('data-type', l.type)
          .append(
            $('<td>').text(l.label === l.type ? l.type : l.label + ' (' + l.type + ')'),
            $('<td class="geofhir-preview-count">').text(l.count),
            $('<td class="geofhir-preview-count-invalid">')
              .text(l.invalid)
              .toggleClass('geofhir-preview-invalid', l.invalid > 0),
            $('<td class="geofhir-preview-count-orphan">')
              .text(l.missingParent)
              .toggleClass('geofhir-preview-orphan', l.missingParent > 0),
          )
          .appendTo(levels);
      });
      list.empty().append(
        tree(current, function (code) {
          selected = code;
          list.find('.geofhir-preview-selected').removeClass('geofhir-preview-selected');
          list.find('li[data-code="' + CSS.escape(code) + '"] > span').addClass('geofhir-preview-selected');
          const o = current.objects.find((x) => x.code === code);
          detail.text(o ? o.label + ' (' + o.type + ' ' + o.code + ')' + (flags(o) ? ': ' + flags(o) : '') : '');
          draw(canvas, preview, current, selected);
        }),
      );
      draw(canvas, preview, current, selected);
    };
    select.on('change', function () {
      current = preview.hierarchies.find((h) => h.code === select.val());
      selected = null;
      show();
    });
    show();
  }

  window.geofhirPreview = {
    /** Show the preview of deployed source `sourceId` in `container` ({hierarchies, forDate} narrow it). */
    show: function (container, sourceId, query) {
      container = $(container).addClass('geofhir-preview').show().empty();
      if (!sourceId) return container.text(t('noSource'));
      container.text(t('loading'));
      return $.getJSON('gpr-hierarchy-source/' + sourceId + '/preview', query || {})
        .done(function (preview) {
          render(container, preview);
        })
        .fail(function (xhr) {
          container.empty();
          $('<div class="geofhir-preview-invalid">')
            .text((xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText)
            .appendTo(container);
        });
    },
  };
})();
