'use strict';
/** One target of the issue: its name, the measured ratio (or ms) and whether it was met. */
function target(name, value, ok) {
  return { name, value, met: value !== undefined && value !== null && !Number.isNaN(value) && ok(value) };
}
module.exports = { target };
