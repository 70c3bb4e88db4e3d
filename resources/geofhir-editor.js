/* global jsonata */
// Editor helpers shared by this module's nodes (served at resources/@geofhir/node-red-geofhir/).
window.geofhirEditor = {
  /** " (tab label)" of a node's flow, so that nodes of the same name in different tabs can be told apart. */
  tabOf: function (node) {
    const tab = node.z && (RED.nodes.workspace(node.z) || RED.nodes.subflow(node.z));
    return tab ? ' (' + (tab.label || tab.name || tab.id) + ')' : '';
  },

  /**
   * One copy of what several dialogs and help texts share. In a node's template, `<div data-geofhir-row="text:<prop>">`
   * becomes a labelled text input (`password:` a password input, `checkbox:` a ticked option), labelled by the type's
   * catalog (`label.<prop>`, and `placeholder.<prop>` with `data-placeholder`), keeping its `class` and `data-width`.
   * In its help, `<div data-geofhir-help="<name>">` becomes the shared block of that name. Call it after registerType.
   */
  expand: function (type) {
    const template = $('script[data-template-name="' + type + '"]');
    const input = RED.nodes.getType(type).category === 'config' ? 'node-config-input-' : 'node-input-';
    template.text(
      template.text().replace(/<div data-geofhir-row="(text|password|checkbox):(\w+)"([^>]*)><\/div>/g, function (_, kind, prop, attrs) {
        const extra = /class="([^"]*)"/.exec(attrs);
        const width = /data-width="([^"]*)"/.exec(attrs);
        const key = type + '.label.' + prop;
        const row = '<div class="form-row' + (extra ? ' ' + extra[1] : '') + '">';
        if (kind === 'checkbox')
          return (
            row +
            '<label></label><input type="checkbox" id="' +
            input +
            prop +
            '" style="width:auto; margin:0 6px 0 0" /><span data-i18n="' +
            key +
            '"></span></div>'
          );
        return (
          row +
          '<label for="' +
          input +
          prop +
          '" data-i18n="' +
          key +
          '"></label><input type="' +
          kind +
          '" id="' +
          input +
          prop +
          '"' +
          (/data-placeholder/.test(attrs) ? ' data-i18n="[placeholder]' + type + '.placeholder.' + prop + '"' : '') +
          (width ? ' style="width:' + width[1] + '"' : '') +
          ' /></div>'
        );
      }),
    );
    const help = $('script[data-help-name="' + type + '"]');
    help.text(
      help.text().replace(/<div data-geofhir-help="([\w-]+)"><\/div>/g, function (_, name) {
        return window.geofhirEditor.help[name];
      }),
    );
  },

  /** Help blocks several nodes share (help texts are in English). */
  help: {
    syncStatus: [
      '<h3>Status</h3>',
      '<ul>',
      "<li><i>(none)</i>: deployed, no job yet; otherwise the last job's status, kept across deploys and restarts.</li>",
      '<li><b>QUEUED</b> (grey ring): a job waiting for its turn.</li>',
      '<li><b>n/m objects</b> (an export) or <b>n/m resources</b> (an import; <b>n resources</b> while the server has not said how many) (blue ring): running, n of m done.</li>',
      '<li><b>retry 2/5 in 4 s: HTTP 503</b> (blue ring): a FHIR call failed and is retried: the retry, of how many the node allows, the wait (longer when the server asks with Retry-After) and the cause (<code>HTTP</code> and its status, <code>timed out</code>, <code>no answer</code>). The FHIR Jobs sidebar counts the wait down.</li>',
      "<li><b>SUCCESS</b> (green), <b>WARNING</b> (yellow: some objects failed, see the job's rows), <b>FAILURE</b> (red), <b>CANCELED</b> (grey).</li>",
      '<li><b>configuration error</b> (red ring): the node cannot run; the reason is in the log and goes to Catch nodes on each input.</li>',
      '<li><b>error</b> (red): the last input could not start a job (the reason went to Catch nodes).</li>',
      '</ul>',
    ].join(''),
  },

  /** Start a run of a deployed sync node at once (`<type>/<id>/run`) and say what happened. */
  runNow: function (type, id) {
    $.ajax({ url: type + '/' + id + '/run', type: 'POST' })
      .done(function (r) {
        const t = window.geofhirEditor._;
        RED.notify(r.existing ? t('run.existing', { status: r.status, id: r.id }) : t('run.started', { id: r.id }), 'success');
      })
      .fail(function (xhr) {
        RED.notify((xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText, 'error');
      });
  },

  /** A node button that runs the node now. */
  runNowButton: function (type) {
    return {
      enabled: function () {
        return !this.changed;
      },
      onclick: function () {
        window.geofhirEditor.runNow(type, this.id);
      },
    };
  },

  /**
   * Ask for a file with the editor's credentials (`request`: $.ajax settings) and save it from memory, under the
   * name its Content-Disposition gives. `onBytes(loaded)` is called as it arrives. Resolves with {name, size};
   * rejects with the route's error message.
   */
  fetchFile: function (request, onBytes) {
    return new Promise(function (resolve, reject) {
      let native;
      $.ajax(
        $.extend({}, request, {
          dataType: 'binary',
          xhr: function () {
            native = $.ajaxSettings.xhr();
            native.responseType = 'blob';
            native.addEventListener('progress', function (e) {
              if (onBytes) onBytes(e.loaded);
            });
            return native;
          },
        }),
      )
        .done(function () {
          const blob = native.response;
          const named = /filename="([^"]+)"/.exec(native.getResponseHeader('Content-Disposition') || '');
          const link = document.createElement('a');
          link.href = URL.createObjectURL(blob);
          link.download = named ? named[1] : 'download';
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(function () {
            URL.revokeObjectURL(link.href);
          }, 0);
          resolve({ name: link.download, size: blob.size });
        })
        .fail(function () {
          const fallback = (native && native.statusText) || window.geofhirEditor._('request.failed');
          const blob = native && native.response;
          if (!blob || !blob.text) return reject(new Error(fallback));
          blob.text().then(function (text) {
            let message = fallback;
            try {
              message = JSON.parse(text).error || message;
            } catch {
              // not JSON: keep the status text
            }
            reject(new Error(message));
          });
        });
    });
  },

  /** A catalog message of this module's shared editor code (in fhir-export's catalog, under "geofhir"). */
  _: function (key, values) {
    return RED._('@geofhir/node-red-geofhir/fhir-export:geofhir.' + key, values);
  },

  /** A message of node type `type`'s catalog (`<type>.<key>`), e.g. a field's label for its definition. */
  t: function (type, key, values) {
    return RED._('@geofhir/node-red-geofhir/' + type + ':' + type + '.' + key, values);
  },

  /**
   * A flow node's labels from its type's catalog: its name, else the palette label; the palette label; and the port
   * labels (`inputLabel`, and `outputLabel`, or `outputLabels.<i>` for each port of a node with several).
   */
  labels: function (type, outputs) {
    const t = window.geofhirEditor.t;
    return {
      label: function () {
        return this.name || t(type, 'paletteLabel');
      },
      paletteLabel: function () {
        return t(type, 'paletteLabel');
      },
      inputLabels: t(type, 'inputLabel'),
      outputLabels:
        outputs > 1
          ? Array.from({ length: outputs }, function (_, i) {
              return t(type, 'outputLabels.' + i);
            })
          : t(type, 'outputLabel'),
    };
  },

  /**
   * Generate Bundle with a notification that follows it (the runtime's stages on comms topic `progress`, then the
   * bytes received) and names the file saved or the error. `request` is the $.ajax settings of the route.
   */
  generateBundle: function (request, progress) {
    const t = window.geofhirEditor._;
    const note = RED.notify(t('bundle.requested'), { type: 'compact', fixed: true, id: 'geofhir-bundle' });
    const show = function (text) {
      note.update(text, { fixed: true });
    };
    const topic = progress && 'geofhir/bundle/' + progress;
    const onStage = function (_, s) {
      show(t('bundle.stage.' + s.stage, s));
    };
    if (topic) RED.comms.subscribe(topic, onStage);
    const end = function () {
      if (topic) RED.comms.unsubscribe(topic, onStage);
    };
    return window.geofhirEditor
      .fetchFile(request, function (bytes) {
        show(t('bundle.receiving', { size: (bytes / 1048576).toFixed(1) }));
      })
      .then(
        function (file) {
          end();
          note.close();
          RED.notify(t('bundle.saved', { name: file.name, size: (file.size / 1048576).toFixed(1) }), 'success');
          return file;
        },
        function (err) {
          end();
          note.close();
          RED.notify(err.message, 'error');
          throw err;
        },
      );
  },

  /** Generate Bundle of a deployed node (`<type>/<id>/bundle`): what an export of its registry source would send. */
  downloadBundle: function (type, id) {
    const progress = RED.nodes.id().replace(/\W/g, '');
    return window.geofhirEditor
      .generateBundle({ url: type + '/' + id + '/bundle', data: { progress: progress } }, progress)
      .catch(function () {});
  },

  /** Generate Bundle of the open fhir-export dialog of `node`, as the form shows it, saved or not. */
  downloadFormBundle: function (node) {
    const config = {};
    Object.keys(node._def.defaults).forEach(function (k) {
      config[k] = window.geofhirEditor.current(node, k);
    });
    const levels = window.geofhirLevels && window.geofhirLevels.current();
    if (levels) config.levels = levels;
    const system = RED.nodes.node(config.system);
    const progress = RED.nodes.id().replace(/\W/g, '');
    return window.geofhirEditor
      .generateBundle(
        {
          url: 'fhir-export/bundle',
          type: 'POST',
          contentType: 'application/json',
          data: JSON.stringify({ config: config, identifierSystem: (system && system.system) || '', progress: progress }),
        },
        progress,
      )
      .catch(function () {});
  },

  /** A node button that downloads Generate Bundle. */
  bundleButton: function (type) {
    return {
      enabled: function () {
        return !this.changed;
      },
      onclick: function () {
        window.geofhirEditor.downloadBundle(type, this.id);
      },
    };
  },

  /**
   * Field validators in Node-RED's (value, opt) form, whose returned string is shown as the reason (a
   * one-parameter validator's string counts as valid). `field` names the field in the reason.
   */
  valid: {
    /**
     * `ok(v)` (called on the node) decides; `reason` completes "<field> must …": a text, or `{key, values}` of a
     * reason in the shared catalog (geofhir.valid.reason), looked up when a field is checked.
     */
    check: function (field, ok, reason) {
      return function (v, opt) {
        if (ok.call(this, v, opt)) return true;
        const t = window.geofhirEditor._;
        return t('valid.must', {
          field: field,
          reason: typeof reason === 'string' ? reason : t('valid.reason.' + reason.key, reason.values),
        });
      };
    },
    required: function (field) {
      return window.geofhirEditor.valid.check(field, (v) => v !== undefined && String(v).trim() !== '', { key: 'set' });
    },
    date: function (field) {
      return window.geofhirEditor.valid.check(
        field,
        function (v) {
          if (!v) return true;
          const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
          const d = m && new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
          return !!d && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
        },
        { key: 'date' },
      );
    },
    /**
     * A whole number of at least `min` (1 when not given), or empty, or absent from a flow saved before the setting
     * existed: then its default applies, as at run time.
     */
    integer: function (field, min) {
      const floor = min === undefined ? 1 : min;
      const ok = (v) => v === undefined || v === '' || (/^\s*\d+\s*$/.test(String(v)) && Number(v) >= floor);
      return window.geofhirEditor.valid.check(field, ok, {
        key: 'integer',
        values: { min: floor },
      });
    },
    httpUrl: function (field) {
      return window.geofhirEditor.valid.check(
        field,
        function (v) {
          try {
            const u = new URL(v);
            return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash;
          } catch {
            return false;
          }
        },
        { key: 'httpUrl' },
      );
    },
    /** JSON (of `kind` 'array' or 'object' when given), or empty for the defaults. */
    json: function (field, kind) {
      return window.geofhirEditor.valid.check(
        field,
        function (v) {
          if (!v) return true;
          try {
            const value = JSON.parse(v);
            if (kind === 'array') return Array.isArray(value);
            if (kind === 'object') return !!value && typeof value === 'object' && !Array.isArray(value);
            return true;
          } catch {
            return false;
          }
        },
        { key: 'json' + (kind ? '-' + kind : '') },
      );
    },
    /** A JSONata expression that parses. */
    jsonata: function (field) {
      return window.geofhirEditor.valid.check(
        field,
        function (v) {
          try {
            jsonata(v);
            return !!v;
          } catch {
            return false;
          }
        },
        { key: 'jsonata' },
      );
    },
    /** A config node that exists (a select of config nodes holds "_ADD_" until one is made). */
    configNode: function (field) {
      return window.geofhirEditor.valid.check(field, (v) => !!v && v !== '_ADD_' && !!RED.nodes.node(v), { key: 'selected' });
    },
    /** A sync node's Organization: the one its selected external system belongs to (GPR's rule; the runtime refuses others). */
    systemOrganization: function () {
      // eslint-disable-next-line no-unused-vars -- two parameters: Node-RED then shows the returned string as the reason
      return function (v, opt) {
        const system = RED.nodes.node(window.geofhirEditor.current(this, 'system'));
        if (!system || system.type !== 'fhir-external-system' || !system.organization || system.organization === v) return true;
        return window.geofhirEditor._('valid.systemOrganization', {
          organization: system.organization,
          system: system.name || system.systemId,
        });
      };
    },
    /**
     * Validate with `validator` only while `prop` (as the open dialog shows it, else as saved) is one of
     * `values`: a field the dialog hides is not checked.
     */
    when: function (prop, values, validator) {
      return function (v, opt) {
        return values.indexOf(window.geofhirEditor.current(this, prop)) < 0 ? true : validator.call(this, v, opt);
      };
    },
    /**
     * The validators above for the fields of node type `type`, each naming its field by the property's label in the
     * type's catalog (`<type>.label.<prop>`): `of('fhir-import').integer('pageSize')`.
     */
    of: function (type) {
      const valid = window.geofhirEditor.valid;
      const named = {};
      ['check', 'required', 'date', 'integer', 'httpUrl', 'json', 'jsonata', 'configNode'].forEach(function (name) {
        named[name] = function (prop) {
          const rest = Array.prototype.slice.call(arguments, 1);
          return valid[name].apply(valid, [window.geofhirEditor.t(type, 'label.' + prop)].concat(rest));
        };
      });
      named.when = valid.when;
      return named;
    },
  },

  /**
   * The defaults a sync node of `type` has for its FHIR server: `organization`, which must be its external system's
   * (GPR's rule), and `system`, the external system.
   */
  serverDefaults: function (type) {
    const t = window.geofhirEditor.t;
    return {
      organization: {
        value: '',
        label: t(type, 'label.organization'),
        required: true,
        validate: window.geofhirEditor.valid.systemOrganization(),
      },
      system: { value: '', label: t(type, 'label.system'), type: 'fhir-external-system', required: true },
    };
  },

  /** The value of `prop` in the node's open edit dialog, else the node's saved value. */
  current: function (node, prop) {
    const input = $((node._def && node._def.category === 'config' ? '#node-config-input-' : '#node-input-') + prop);
    if (!input.length) return node[prop];
    return input.is(':checkbox') ? input.prop('checked') : input.val();
  },

  /** Offer every node of `type` in the select `selector`, `current` selected. */
  fillNodeSelect: function (selector, type, current) {
    const select = $(selector);
    RED.nodes.eachNode(function (n) {
      if (n.type === type) {
        $('<option>')
          .val(n.id)
          .text((n.name || n.id) + window.geofhirEditor.tabOf(n))
          .prop('selected', n.id === current)
          .appendTo(select);
      }
    });
  },
};
