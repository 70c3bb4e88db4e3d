// The export dialog's Org Units table (GPR's mapping screen): one row per Geo-Object Type of the chosen
// hierarchies, listed by the registry source of "Run now reads" (admin route gpr-hierarchy-source/<id>/levels),
// with its FHIR type coding, kind and implementation. Saved in the node's `levels` JSON; untouched, it stays empty.
(function () {
  if (window.geofhirLevels) return;
  const KINDS = ['auto', 'facility', 'jurisdiction'];
  const IMPLEMENTATIONS = ['', 'mcsd', 'basic', 'multi-hierarchy'];
  $('head').append(
    $('<style>').text(
      [
        '.geofhir-levels-row { overflow-x: auto; }',
        '.geofhir-levels { width: 100%; border-collapse: collapse; }',
        '.geofhir-levels th, .geofhir-levels td { text-align: left; padding: 2px 3px; border-bottom: 1px solid var(--red-ui-tertiary-border-color); vertical-align: middle; }',
        '.geofhir-levels input[type=text] { width: 100%; min-width: 70px; box-sizing: border-box; }',
        '.geofhir-levels select { width: auto; }',
        '.geofhir-levels input[type=checkbox] { width: auto; margin: 0; }',
        '.geofhir-levels .geofhir-level-missing { color: var(--red-ui-text-color-error); }',
        '.geofhir-levels-note { color: var(--red-ui-secondary-text-color); }',
        '.geofhir-levels-note.geofhir-levels-error { color: var(--red-ui-text-color-error); }',
      ].join('\n'),
    ),
  );

  /** The open dialog's state: the saved value, its levels (null: not a JSON list), the source's choices. */
  let state = null;

  function t(key, values) {
    return RED._('@geofhir/node-red-geofhir/fhir-export:fhir-export.levels.' + key, values);
  }

  function parse(value) {
    if (!value) return [];
    try {
      const levels = JSON.parse(value);
      return Array.isArray(levels) ? levels : null;
    } catch {
      return null;
    }
  }

  function note(text, error) {
    $('#fhir-export-levels-note').text(text).toggleClass('geofhir-levels-error', !!error);
  }

  function systemUri() {
    const system = RED.nodes.node($('#node-input-system').val());
    return (system && system.system) || '';
  }

  function select(cls, values, current, labelOf) {
    const s = $('<select>').addClass(cls);
    values.forEach(function (v) {
      $('<option>')
        .val(v)
        .text(labelOf(v))
        .prop('selected', v === (current || ''))
        .appendTo(s);
    });
    return s;
  }

  /** The rows as the table shows them: {geoObjectType, on, level (as it would be saved)}. */
  function collect() {
    return $('#fhir-export-levels tbody tr')
      .map(function () {
        const tr = $(this);
        const level = { geoObjectType: tr.attr('data-type') };
        const fhirType = {};
        ['code', 'display', 'system'].forEach(function (k) {
          const v = tr
            .find('.geofhir-level-' + k)
            .val()
            .trim();
          if (v) fhirType[k] = v;
        });
        if (Object.keys(fhirType).length) level.fhirType = fhirType;
        const kind = tr.find('.geofhir-level-kind').val();
        if (kind !== 'auto') level.kind = kind;
        const implementation = tr.find('.geofhir-level-implementation').val();
        if (implementation) level.implementation = implementation;
        return { on: tr.find('.geofhir-level-on').prop('checked'), listed: tr.attr('data-listed') === 'true', level: level };
      })
      .get();
  }

  function render(configured) {
    const body = $('#fhir-export-levels tbody').empty();
    const choices = state.choices || [];
    const byType = {};
    choices.forEach(function (c) {
      byType[c.geoObjectType] = c;
    });
    const rows = configured.length ? configured.map((l) => l.geoObjectType) : [];
    choices.forEach(function (c) {
      if (rows.indexOf(c.geoObjectType) < 0) rows.push(c.geoObjectType);
    });
    const uri = systemUri();
    rows.forEach(function (type) {
      const cfg =
        configured.find(function (l) {
          return l.geoObjectType === type;
        }) || {};
      const choice = byType[type];
      const fhirType = cfg.fhirType || {};
      const tr = $('<tr>').attr('data-type', type).attr('data-listed', String(!!choice)).appendTo(body);
      $('<td>')
        .append($('<input type="checkbox" class="geofhir-level-on">').prop('checked', !configured.length || cfg.geoObjectType === type))
        .appendTo(tr);
      const name = $('<td>').appendTo(tr);
      $('<span>').text(type).appendTo(name);
      if (choice) {
        $('<span class="geofhir-levels-note">')
          .text((choice.label !== type ? ' ' + choice.label : '') + (choice.facility ? ' · ' + t('facility') : ''))
          .appendTo(name);
      } else if (state.choices) {
        name.addClass('geofhir-level-missing').attr('title', t('notInSource'));
      }
      [
        ['code', choice ? choice.fhirType.code : type],
        ['display', choice ? choice.fhirType.display : ''],
        ['system', uri],
      ].forEach(function (f) {
        $('<td>')
          .append(
            $('<input type="text">')
              .addClass('geofhir-level-' + f[0])
              .attr('placeholder', f[1] || '')
              .val(fhirType[f[0]] || ''),
          )
          .appendTo(tr);
      });
      $('<td>')
        .append(
          select('geofhir-level-kind', KINDS, cfg.kind || 'auto', function (k) {
            return t('kind.' + k);
          }),
        )
        .appendTo(tr);
      $('<td>')
        .append(
          select('geofhir-level-implementation', IMPLEMENTATIONS, cfg.implementation, function (i) {
            return t('implementation.' + (i || 'export'));
          }),
        )
        .appendTo(tr);
    });
  }

  /** What the table holds, as the levels to save (what is shown, once loaded, else what was saved). */
  function current() {
    const rows = collect();
    if (!rows.length) return state.configured || [];
    const untouched =
      state.choices &&
      rows.every(function (r) {
        return r.on && r.listed && Object.keys(r.level).length === 1;
      });
    if (untouched) return [];
    return rows
      .filter(function (r) {
        return r.on;
      })
      .map(function (r) {
        return r.level;
      });
  }

  /** The FHIR type system shown as the placeholder of each row's system: the target external system's. */
  function showSystem() {
    $('#fhir-export-levels .geofhir-level-system').attr('placeholder', systemUri());
  }

  /** List the source's choices for the fields as they are now; a change that asks the same again (the editor
   *  triggers one on every field as the dialog opens) neither asks nor redraws the rows a user may be editing. */
  function load() {
    if (state.configured === null) return;
    const asked = {
      source: $('#node-input-source').val(),
      hierarchies: $('#node-input-hierarchies').val(),
      forDate: $('#node-input-forDate').val(),
      implementation: $('#node-input-implementation').val(),
    };
    if (JSON.stringify(asked) === JSON.stringify(state.asked)) return;
    state.asked = asked;
    const configured = current();
    if (!asked.source) {
      state.choices = null;
      render(configured);
      return note(t(configured.length ? 'noSourceSaved' : 'noSource'));
    }
    note(t('loading'));
    $.getJSON('gpr-hierarchy-source/' + asked.source + '/levels', {
      hierarchies: asked.hierarchies,
      forDate: asked.forDate,
      implementation: asked.implementation,
    })
      .done(function (r) {
        if (state.asked !== asked) return;
        state.choices = r.levels;
        render(current().length ? current() : configured);
        if (r.unknownHierarchies.length) note(t('unknownHierarchies', { codes: r.unknownHierarchies.join(', ') }), true);
        else note(t('listed', { count: r.levels.length, date: r.forDate }));
      })
      .fail(function (xhr) {
        if (state.asked !== asked) return;
        // Asked again on the next change, though it names the same choices.
        state.asked = null;
        state.choices = null;
        render(configured);
        note((xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText, true);
      });
  }

  window.geofhirLevels = {
    /** Fill the table of the open fhir-export dialog of `node`. */
    prepare: function (node) {
      state = { original: node.levels || '', configured: parse(node.levels), choices: null };
      if (state.configured === null) {
        $('.geofhir-levels-row').hide();
        return note(t('notAList'), true);
      }
      render(state.configured);
      $('#node-input-source, #node-input-hierarchies, #node-input-forDate, #node-input-implementation').on('change', load);
      $('#node-input-system').on('change', showSystem);
      load();
    },
    /** Store the table in the dialog's levels field (the saved text itself when it says the same). */
    save: function () {
      if (!state || state.configured === null) return;
      const levels = current();
      const same = JSON.stringify(levels) === JSON.stringify(parse(state.original));
      $('#node-input-levels').val(same ? state.original : levels.length ? JSON.stringify(levels) : '');
      state = null;
    },
    /** The levels the open dialog shows, for Generate Bundle from the form. */
    current: function () {
      return state && state.configured !== null ? current() : undefined;
    },
  };
})();
