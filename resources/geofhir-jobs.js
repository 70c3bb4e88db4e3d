// The "FHIR Jobs" sidebar tab: each deployed fhir-export and fhir-import node with its recent jobs, live
// while they run (comms topic geofhir/jobs/<node id>), a job's details with its error rows, and an export's
// Preview changes (what a run now would create, update and set inactive).
// Included by several node definitions: it sets itself up once.
(function () {
  if (window.geofhirJobs) return;
  const SYNC_TYPES = ['fhir-export', 'fhir-import'];
  const RECENT = 5;
  const ROWS_PAGE = 20;
  const COLOURS = {
    SUCCESS: 'var(--red-ui-text-color-success)',
    WARNING: 'var(--red-ui-text-color-warning)',
    FAILURE: 'var(--red-ui-text-color-error)',
    RUNNING: 'var(--red-ui-text-color-link)',
    QUEUED: 'var(--red-ui-secondary-text-color)',
    CANCELED: 'var(--red-ui-secondary-text-color)',
  };
  /** The notification type of each status a job ends with. */
  const FINAL = { SUCCESS: 'success', WARNING: 'warning', FAILURE: 'error', CANCELED: 'info' };
  /** Recent jobs per node id, as the runtime last told them (null: not deployed). */
  const recent = {};
  /** Per node id: how many jobs the runtime keeps, and how many the list shows ("Older jobs" adds a page). */
  const kept = {};
  const shown = {};
  /** The job whose details are open: {node, jobId, rows, count}. */
  let open = null;
  /** The preview shown: {node, answer} once the runtime answered, {node, error} when it failed, {node} meanwhile. */
  let previewing = null;
  /** The colour of each action a preview lists. */
  const ACTION_COLOURS = {
    create: COLOURS.SUCCESS,
    update: COLOURS.RUNNING,
    inactivate: COLOURS.WARNING,
    skip: COLOURS.QUEUED,
  };

  const style = $('<style>').text(
    [
      '.geofhir-jobs { padding: 0 8px 8px; overflow-y: auto; overflow-x: hidden; height: 100%; box-sizing: border-box; color: var(--red-ui-primary-text-color); overflow-wrap: anywhere; }',
      '.geofhir-jobs > :first-child { margin-top: 8px; }',
      // The details' bar (with the Jobs back button) stays in view while the details scroll.
      '.geofhir-jobs-details > .geofhir-jobs-node-head { position: sticky; top: 0; z-index: 1; margin: 0 -8px; }',
      '.geofhir-jobs-more-jobs { margin: 4px 6px; }',
      '.geofhir-jobs-reports { display: flex; gap: 4px; margin: 4px 0; }',
      '.geofhir-jobs-node { border: 1px solid var(--red-ui-secondary-border-color); border-radius: 3px; margin-bottom: 8px; background: var(--red-ui-primary-background); }',
      // In a narrow sidebar the buttons wrap below the name rather than squeeze it away.
      '.geofhir-jobs-node-head { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; padding: 4px 6px; background: var(--red-ui-secondary-background); border-bottom: 1px solid var(--red-ui-secondary-border-color); }',
      '.geofhir-jobs-node-head .geofhir-jobs-name { flex: 1 1 8em; min-width: 8em; font-weight: bold; cursor: pointer; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }',
      '.geofhir-jobs-job { padding: 4px 6px; cursor: pointer; border-top: 1px solid var(--red-ui-tertiary-border-color); }',
      '.geofhir-jobs-job:hover { background: var(--red-ui-list-item-background-hover); }',
      '.geofhir-jobs-status { font-weight: bold; }',
      '.geofhir-jobs-meta { color: var(--red-ui-secondary-text-color); font-size: 0.9em; }',
      '.geofhir-jobs-bar { height: 4px; background: var(--red-ui-tertiary-background); margin-top: 3px; }',
      '.geofhir-jobs-bar > div { height: 100%; background: var(--red-ui-text-color-link); }',
      '.geofhir-jobs-empty { padding: 4px 6px; color: var(--red-ui-secondary-text-color); font-style: italic; }',
      '.geofhir-jobs-details table { width: 100%; border-collapse: collapse; margin: 6px 0; table-layout: fixed; }',
      '.geofhir-jobs-details th { width: 30%; }',
      '.geofhir-jobs-details td, .geofhir-jobs-details th { text-align: left; vertical-align: top; padding: 2px 4px; border-bottom: 1px solid var(--red-ui-tertiary-border-color); }',
      '.geofhir-jobs-preview-note { margin: 6px 0; }',
      '.geofhir-jobs-preview-error { color: var(--red-ui-text-color-error); margin: 6px 0; }',
      '.geofhir-jobs-preview-items th:first-child { width: 35%; }',
      '.geofhir-jobs-preview-items th:last-child { width: 25%; }',
      '.geofhir-jobs-details pre { font-family: var(--red-ui-monospace-font); font-size: 0.85em; white-space: pre-wrap; word-break: break-all; max-height: 200px; overflow: auto; background: var(--red-ui-secondary-background); color: var(--red-ui-primary-text-color); }',
    ].join('\n'),
  );
  const content = $('<div class="geofhir-jobs">');
  function t(key, values) {
    return window.geofhirEditor._('jobs.' + key, values);
  }
  $('head').append(style);

  function labelOf(node) {
    return RED.utils.getNodeLabel(node, node.type);
  }

  function duration(job) {
    const ms = (job.finishedAt ? Date.parse(job.finishedAt) : Date.now()) - Date.parse(job.startedAt);
    if (!(ms >= 0)) return '';
    if (ms < 1000) return t('duration.ms', { ms: ms });
    const s = Math.round(ms / 100) / 10;
    return s < 60 ? t('duration.s', { s: s }) : t('duration.min', { min: Math.floor(s / 60), s: Math.round(s % 60) });
  }

  /** A job's duration, kept live (every second) while it has not finished. */
  function durationOf(job) {
    const span = $('<span class="geofhir-jobs-duration">').text(duration(job));
    if (!job.finishedAt) span.attr('data-started', job.startedAt);
    return span;
  }
  /** The retry a running job waits for, counting down: "retry 2/5 in 4 s: HTTP 503". */
  function retryText(r, until) {
    return t('retrying', {
      attempt: r.attempt,
      retries: r.retries,
      seconds: Math.max(0, Math.ceil((until - Date.now()) / 1000)),
      reason: r.reason,
    });
  }

  function retryOf(job) {
    const r = job.retrying;
    const until = Date.parse(r.at) + r.waitMs;
    return $('<span class="geofhir-jobs-retry">').attr('data-until', until).data('retry', r).text(retryText(r, until));
  }
  setInterval(function () {
    content.find('.geofhir-jobs-duration[data-started]').each(function () {
      $(this).text(duration({ startedAt: $(this).attr('data-started') }));
    });
    content.find('.geofhir-jobs-retry').each(function () {
      $(this).text(retryText($(this).data('retry'), Number($(this).attr('data-until'))));
    });
  }, 1000);

  /** Save the report of `job` of `node` in `format` (csv or json). */
  function report(node, job, format) {
    window.geofhirEditor
      .fetchFile({ url: node.type + '/' + node.id + '/jobs/' + job.id + '/report', data: { format: format } })
      .catch(function (err) {
        RED.notify(err.message, 'error');
      });
  }

  function counts(job) {
    const parts =
      job.kind === 'import'
        ? [t('counts.read', { n: job.resourcesRead }), t('counts.imported', { n: job.objectsImported })]
        : [t('counts.objects', { n: job.objectsExported }), t('counts.resources', { n: job.resourcesExported })];
    if (job.inactivated) parts.push(t('counts.inactivated', { n: job.inactivated }));
    if (job.errorCount) parts.push(t('counts.rows', { n: job.errorCount }));
    return parts.join(' · ');
  }

  function fail(xhr) {
    RED.notify((xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || window.geofhirEditor._('request.failed'), 'error');
  }

  function jobRow(node, job) {
    const row = $('<div class="geofhir-jobs-job">').attr('data-job', job.id);
    const head = $('<div>').appendTo(row);
    $('<span class="geofhir-jobs-status">').text(job.status).css('color', COLOURS[job.status]).appendTo(head);
    $('<span class="geofhir-jobs-meta">')
      .text(' ' + job.stage + ' · ' + new Date(job.startedAt).toLocaleString() + ' · ')
      .append(durationOf(job))
      .appendTo(head);
    $('<div class="geofhir-jobs-meta">').text(counts(job)).appendTo(row);
    if (job.status === 'RUNNING' && job.retrying) $('<div class="geofhir-jobs-meta">').append(retryOf(job)).appendTo(row);
    if (job.status === 'RUNNING' && job.workTotal) {
      const bar = $('<div class="geofhir-jobs-bar">').attr('title', job.workProgress + '/' + job.workTotal);
      $('<div>')
        .css('width', Math.min(100, (100 * job.workProgress) / job.workTotal) + '%')
        .appendTo(bar);
      bar.appendTo(row);
    }
    row.on('click', function () {
      showDetails(node, job.id);
    });
    return row;
  }

  function nodeSection(node) {
    const section = $('<div class="geofhir-jobs-node">').attr('data-node', node.id);
    const head = $('<div class="geofhir-jobs-node-head">').appendTo(section);
    $('<span class="geofhir-jobs-name">')
      .text(labelOf(node))
      .attr('title', node.type + ' ' + node.id)
      .on('click', function () {
        RED.view.reveal(node.id);
      })
      .appendTo(head);
    // Both act on the deployed node: not before it is deployed, nor while it has undeployed changes.
    const undeployed = recent[node.id] === null || !!node.changed;
    if (node.type === 'fhir-export') {
      $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-bundle">')
        .text(t('generateBundle'))
        .prop('disabled', undeployed)
        .on('click', function () {
          window.geofhirEditor.downloadBundle(node.type, node.id);
        })
        .appendTo(head);
    }
    if (node.type === 'fhir-export') {
      $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-preview">')
        .text(t('previewChanges'))
        .prop('disabled', undeployed)
        .on('click', function () {
          showPreview(node);
        })
        .appendTo(head);
    }
    $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-run">')
      .text(t('runNow'))
      .prop('disabled', undeployed)
      .on('click', function () {
        window.geofhirEditor.runNow(node.type, node.id);
      })
      .appendTo(head);
    const jobs = recent[node.id];
    if (jobs === null) $('<div class="geofhir-jobs-empty">').text(t('notDeployed')).appendTo(section);
    else if (!jobs) $('<div class="geofhir-jobs-empty">').text(t('loading')).appendTo(section);
    else if (!jobs.length) $('<div class="geofhir-jobs-empty">').text(t('noJobs')).appendTo(section);
    else {
      jobs.forEach(function (job) {
        jobRow(node, job).appendTo(section);
      });
      if (kept[node.id] > jobs.length) {
        $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-more-jobs">')
          .text(t('olderJobs', { count: kept[node.id] - jobs.length }))
          .on('click', function () {
            shown[node.id] = jobs.length + RECENT;
            load(node);
          })
          .appendTo(section);
      }
    }
    return section;
  }

  function syncNodes() {
    const nodes = [];
    RED.nodes.eachNode(function (n) {
      if (SYNC_TYPES.indexOf(n.type) >= 0) nodes.push(n);
    });
    return nodes;
  }

  function renderList() {
    if (open || previewing) return;
    content.empty();
    const nodes = syncNodes();
    if (!nodes.length) $('<div class="geofhir-jobs-empty">').text(t('noNodes')).appendTo(content);
    nodes.forEach(function (n) {
      nodeSection(n).appendTo(content);
    });
  }

  function load(node) {
    $.getJSON(node.type + '/' + node.id + '/jobs', { pageSize: shown[node.id] || RECENT })
      .done(function (r) {
        recent[node.id] = r.jobs;
        kept[node.id] = r.count;
        renderList();
      })
      .fail(function (xhr) {
        if (xhr.status !== 404) return fail(xhr);
        recent[node.id] = null;
        renderList();
      });
  }

  function refresh() {
    renderList();
    syncNodes().forEach(load);
  }

  function showDetails(node, jobId, more) {
    const rows = more && open ? open.rows : [];
    const page = Math.floor(rows.length / ROWS_PAGE) + 1;
    $.getJSON(node.type + '/' + node.id + '/jobs/' + jobId, { page: page, pageSize: ROWS_PAGE })
      .done(function (job) {
        open = { node: node, jobId: jobId, rows: rows.concat(job.errors), count: job.errorCount };
        renderDetails(job);
      })
      .fail(fail);
  }

  function renderDetails(job) {
    const node = open.node;
    content.empty();
    const box = $('<div class="geofhir-jobs-details">').appendTo(content);
    const bar = backBar(box, node, function () {
      open = null;
    });
    if (job.status === 'QUEUED' || job.status === 'RUNNING') {
      $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-cancel">')
        .text(t('cancel'))
        .on('click', function () {
          $.post(node.type + '/' + node.id + '/jobs/' + job.id + '/cancel').fail(fail);
        })
        .appendTo(bar);
    }
    const facts = [
      ['status', job.status],
      ['stage', job.stage],
      ['job', job.id],
      ['started', new Date(job.startedAt).toLocaleString()],
      ['finished', job.finishedAt ? new Date(job.finishedAt).toLocaleString() : ''],
      ['duration', durationOf(job)],
      ['progress', job.workProgress + '/' + job.workTotal],
      ['counts', counts(job)],
    ];
    if (job.status === 'RUNNING' && job.retrying) facts.push(['retry', retryOf(job)]);
    if (job.exception) facts.push(['failure', job.exception.message]);
    const table = $('<table class="geofhir-jobs-facts">').appendTo(box);
    facts.forEach(function (f) {
      const tr = $('<tr>').appendTo(table);
      $('<th>')
        .text(t('fact.' + f[0]))
        .appendTo(tr);
      $('<td>')
        .append(typeof f[1] === 'string' ? document.createTextNode(f[1]) : f[1])
        .css('color', f[0] === 'status' ? COLOURS[job.status] : '')
        .appendTo(tr);
    });
    const reports = $('<div class="geofhir-jobs-reports">').appendTo(box);
    [
      ['csv', t('report.csv')],
      ['json', t('report.json')],
    ].forEach(function (r) {
      $('<button type="button" class="red-ui-button red-ui-button-small">')
        .addClass('geofhir-jobs-report-' + r[0])
        .html('<i class="fa fa-download"></i> ')
        .append(document.createTextNode(r[1]))
        .on('click', function () {
          report(node, job, r[0]);
        })
        .appendTo(reports);
    });
    $('<div class="geofhir-jobs-meta">')
      .text(open.count ? t('errorRows', { count: open.count }) : t('noErrorRows'))
      .appendTo(box);
    if (!open.rows.length) return;
    const rows = $('<table class="geofhir-jobs-rows">').appendTo(box);
    $('<tr>')
      .append($('<th>').text(t('object')), $('<th>').text(t('message')))
      .appendTo(rows);
    open.rows.forEach(function (r) {
      const tr = $('<tr class="geofhir-jobs-row">').appendTo(rows);
      $('<td>')
        .text(r.code + (r.type ? ' (' + r.type + ')' : ''))
        .appendTo(tr);
      const cell = $('<td>').appendTo(tr);
      $('<div>')
        .text(r.severity + ': ' + r.message)
        .css('color', r.severity === 'ERROR' ? COLOURS.FAILURE : COLOURS.WARNING)
        .appendTo(cell);
      [
        [t('submitted'), r.submitted],
        [t('response'), r.response],
      ].forEach(function (part) {
        if (part[1] === undefined) return;
        const more = $('<details>').appendTo(cell);
        $('<summary>').text(part[0]).appendTo(more);
        $('<pre>')
          .text(JSON.stringify(part[1], null, 2))
          .appendTo(more);
      });
    });
    if (open.rows.length < open.count) {
      $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-more">')
        .text(t('moreRows'))
        .on('click', function () {
          showDetails(node, job.id, true);
        })
        .appendTo(box);
    }
  }

  /** Ask the runtime what a run of export `node` would change now, and show it. */
  function showPreview(node) {
    const shown = { node: node };
    previewing = shown;
    renderPreview();
    $.ajax({ url: node.type + '/' + node.id + '/preview', type: 'POST', dataType: 'json' })
      .done(function (answer) {
        shown.answer = answer;
      })
      .fail(function (xhr) {
        shown.error = (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || window.geofhirEditor._('request.failed');
      })
      .always(function () {
        if (previewing === shown) renderPreview();
      });
  }

  /** A bar with the Jobs back button and the node's name, at the top of `box`. */
  function backBar(box, node, onBack) {
    const bar = $('<div class="geofhir-jobs-node-head">').appendTo(box);
    $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-back">')
      .html('<i class="fa fa-chevron-left"></i> ')
      .append(document.createTextNode(t('back')))
      .on('click', function () {
        onBack();
        refresh();
      })
      .appendTo(bar);
    $('<span class="geofhir-jobs-name">').text(labelOf(node)).appendTo(bar);
    return bar;
  }

  function renderPreview() {
    const node = previewing.node;
    const answer = previewing.answer;
    content.empty();
    const box = $('<div class="geofhir-jobs-details geofhir-jobs-preview-view">').appendTo(content);
    const bar = backBar(box, node, function () {
      previewing = null;
    });
    $('<button type="button" class="red-ui-button red-ui-button-small geofhir-jobs-preview-again">')
      .text(t('preview.again'))
      .prop('disabled', !answer && !previewing.error)
      .on('click', function () {
        showPreview(node);
      })
      .appendTo(bar);
    $('<div class="geofhir-jobs-preview-note">').text(t('preview.note')).appendTo(box);
    if (previewing.error) return $('<div class="geofhir-jobs-preview-error">').text(previewing.error).appendTo(box);
    if (!answer) return $('<div class="geofhir-jobs-empty">').text(t('preview.loading')).appendTo(box);
    const c = answer.counts;
    const skipped = c.skipped.invalid + c.skipped.notExisting + c.skipped.unchanged + c.skipped.refused;
    const facts = [
      ['create', String(c.create)],
      ['update', String(c.update)],
      ['inactivate', String(c.inactivate)],
      ['skipped', skipped ? t('preview.skippedDetail', $.extend({ n: skipped }, c.skipped)) : '0'],
    ];
    if (c.warnings) facts.push(['warnings', String(c.warnings)]);
    const table = $('<table class="geofhir-jobs-facts geofhir-jobs-preview-counts">').appendTo(box);
    facts.forEach(function (f) {
      const tr = $('<tr>').attr('data-count', f[0]).appendTo(table);
      $('<th>')
        .text(t('preview.count.' + f[0]))
        .appendTo(tr);
      $('<td>').text(f[1]).appendTo(tr);
    });
    $('<div class="geofhir-jobs-meta">')
      .text(
        !answer.total
          ? t('preview.nothing')
          : answer.items.length < answer.total
            ? t('preview.listedSome', { shown: answer.items.length, total: answer.total })
            : t('preview.listed', { total: answer.total }),
      )
      .appendTo(box);
    if (!answer.items.length) return;
    const items = $('<table class="geofhir-jobs-preview-items">').appendTo(box);
    $('<tr>')
      .append($('<th>').text(t('object')), $('<th>').text(t('preview.label')), $('<th>').text(t('preview.action')))
      .appendTo(items);
    answer.items.forEach(function (item) {
      const tr = $('<tr class="geofhir-jobs-preview-item">').attr('data-action', item.action).appendTo(items);
      $('<td>')
        .text(item.code + (item.type ? ' (' + item.type + ')' : ''))
        .appendTo(tr);
      $('<td>').text(item.label).appendTo(tr);
      const action = $('<td>').appendTo(tr);
      $('<div>')
        .text(t('preview.actions.' + item.action))
        .css('color', ACTION_COLOURS[item.action])
        .appendTo(action);
      if (item.detail) $('<div class="geofhir-jobs-meta">').text(item.detail).appendTo(action);
    });
  }

  /** A job changed in the runtime: update its node's list, or the open details. */
  function onUpdate(topic, job) {
    const nodeId = topic.split('/').pop();
    const jobs = recent[nodeId] || [];
    const i = jobs.findIndex(function (j) {
      return j.id === job.id;
    });
    if (i >= 0 && !FINAL[jobs[i].status] && FINAL[job.status]) {
      const node = RED.nodes.node(nodeId);
      RED.notify(t('ended', { node: node ? labelOf(node) : nodeId, id: job.id, status: job.status }), FINAL[job.status]);
    }
    if (i >= 0) jobs[i] = job;
    else {
      jobs.unshift(job);
      kept[nodeId] = (kept[nodeId] || 0) + 1;
    }
    recent[nodeId] = jobs.slice(0, shown[nodeId] || RECENT);
    if (open && open.jobId === job.id) {
      if (job.status !== 'RUNNING' && job.status !== 'QUEUED') showDetails(open.node, job.id);
      else {
        open.count = job.errorCount;
        renderDetails(job);
      }
    } else renderList();
  }

  RED.sidebar.addTab({
    id: 'geofhir-jobs',
    label: t('title'),
    name: t('title'),
    iconClass: 'fa fa-tasks',
    content: content,
    enableOnEdit: true,
    onchange: refresh,
  });
  RED.comms.subscribe('geofhir/jobs/#', onUpdate);
  // The runtime starts new flows just after the deploy answers; ask for their jobs a little later.
  RED.events.on('deploy', function () {
    setTimeout(refresh, 500);
  });
  window.geofhirJobs = { refresh: refresh };
})();
