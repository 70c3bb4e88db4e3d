// Editor helpers shared by this module's nodes (served at resources/@geofhir/node-red-geofhir/).
window.geofhirEditor = {
  /** Start a run of a deployed sync node at once (`<type>/<id>/run`) and say what happened. */
  runNow: function (type, id) {
    $.ajax({ url: type + '/' + id + '/run', type: 'POST' })
      .done(function (r) {
        RED.notify((r.existing ? 'Already ' + r.status.toLowerCase() + ': job ' : 'Started job ') + r.id, 'success');
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
   * Generate Bundle: download what an export of the node's registry source would send (`<type>/<id>/bundle`).
   * Fetched with the editor's credentials, then saved from memory.
   */
  downloadBundle: function (type, id) {
    $.ajax({ url: type + '/' + id + '/bundle', dataType: 'text' })
      .done(function (text, status, xhr) {
        const name = /filename="([^"]+)"/.exec(xhr.getResponseHeader('Content-Disposition') || '');
        const link = document.createElement('a');
        link.href = URL.createObjectURL(new Blob([text], { type: 'application/fhir+json' }));
        link.download = name ? name[1] : 'bundle.json';
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () {
          URL.revokeObjectURL(link.href);
        }, 0);
      })
      .fail(function (xhr) {
        let message = xhr.statusText;
        try {
          message = JSON.parse(xhr.responseText).error || message;
        } catch {
          // not JSON: keep the status text
        }
        RED.notify('Generate Bundle: ' + message, 'error');
      });
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

  /** Validates a JSON setting that may be left empty for the defaults (a json typed input alone refuses empty). */
  emptyOrJson: function (v) {
    if (!v) return true;
    try {
      JSON.parse(v);
      return true;
    } catch {
      return false;
    }
  },

  /** Offer every node of `type` in the select `selector`, `current` selected. */
  fillNodeSelect: function (selector, type, current) {
    const select = $(selector);
    RED.nodes.eachNode(function (n) {
      if (n.type === type) {
        $('<option>')
          .val(n.id)
          .text(n.name || n.id)
          .prop('selected', n.id === current)
          .appendTo(select);
      }
    });
  },
};
