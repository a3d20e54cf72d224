// Every time shown to a user is Beijing time, whatever the phone's own zone says.
const ZONE = 'Asia/Shanghai';

const dateTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const longDate = new Intl.DateTimeFormat('zh-CN', {
  timeZone: ZONE,
  month: 'long',
  day: 'numeric',
  weekday: 'long',
});
const clock = new Intl.DateTimeFormat('zh-CN', {
  timeZone: ZONE,
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** "2025/03/05 14:07:09" */
export function formatDateTime(value) {
  return dateTime.format(new Date(value));
}

/** "3月5日星期三" */
export function formatLongDate(value = Date.now()) {
  return longDate.format(new Date(value));
}

/** "14:07" */
export function formatClock(value) {
  return clock.format(new Date(value));
}
