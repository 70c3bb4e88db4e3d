// Editor helpers shared by this module's nodes (served at resources/@geofhir/node-red-geofhir/).
window.geofhirEditor = {
  /** A node button that starts a run at once through `<type>/<id>/run` and says what happened. */
  runNowButton: function (type) {
    return {
      enabled: function () {
        return !this.changed;
      },
      onclick: function () {
        $.ajax({ url: type + '/' + this.id + '/run', type: 'POST' })
          .done(function (r) {
            RED.notify((r.existing ? 'Already ' + r.status.toLowerCase() + ': job ' : 'Started job ') + r.id, 'success');
          })
          .fail(function (xhr) {
            RED.notify((xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText, 'error');
          });
      },
    };
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
