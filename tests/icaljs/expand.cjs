// Expand every event of an .ics file with ical.js, the iCalendar engine of Mozilla
// Thunderbird's calendar, and print each occurrence as JSON (UTC instants). Run with TZ=UTC so
// floating and all-day times are read as UTC, as the Python side reads them for comparison.
// usage: node expand.cjs FILE.ics FROM_ISO UNTIL_ISO
"use strict";
const fs = require("fs");
const ICAL = require("ical.js");

const [file, from, until] = process.argv.slice(2);
const root = new ICAL.Component(ICAL.parse(fs.readFileSync(file, "utf8")));
for (const tz of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(tz);
}
const lo = ICAL.Time.fromJSDate(new Date(from), true);
const hi = ICAL.Time.fromJSDate(new Date(until), true);
const masters = new Map();
const exceptions = [];
for (const comp of root.getAllSubcomponents("vevent")) {
  if (comp.hasProperty("recurrence-id")) exceptions.push(comp);
  else masters.set(comp.getFirstPropertyValue("uid"), new ICAL.Event(comp));
}
for (const comp of exceptions) {
  const master = masters.get(comp.getFirstPropertyValue("uid"));
  if (master) master.relateException(new ICAL.Event(comp));
}
const out = [];
for (const [uid, event] of masters) {
  const iter = event.iterator();
  for (let next = iter.next(), n = 0; next && n < 5000; next = iter.next(), n++) {
    const d = event.getOccurrenceDetails(next);
    if (d.startDate.compare(hi) >= 0 && next.compare(hi) >= 0) break;
    if (d.endDate.compare(lo) <= 0) continue;
    out.push({
      uid,
      start: d.startDate.toJSDate().toISOString(),
      end: d.endDate.toJSDate().toISOString(),
      title: d.item.summary,
    });
  }
}
out.sort((a, b) => (a.start + a.uid < b.start + b.uid ? -1 : 1));
process.stdout.write(JSON.stringify(out));
