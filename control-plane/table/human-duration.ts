/**
 * Kubernetes' `duration.HumanDuration`: an age with two or three significant
 * figures, the text of every AGE column ("45s", "3m20s", "4h5m", "2d3h", "45d",
 * "2y30d"). Each unit is truncated, never rounded, as Go's integer division does.
 *
 *   < -1 s (clock skew beyond tolerance)  <invalid>
 *   -1 s .. 0 s                            0s
 *   < 2 min                                Ns          (0s .. 119s)
 *   < 10 min                               NmSs / Nm   (2m .. 9m59s)
 *   < 3 h                                  Nm          (10m .. 179m)
 *   < 8 h                                  NhMm / Nh   (3h .. 7h59m)
 *   < 48 h                                 Nh          (8h .. 47h)
 *   < 8 d                                  NdHh / Nd   (2d .. 7d23h)
 *   < 2 y (730 d)                          Nd          (8d .. 729d)
 *   < 8 y                                  NyDd / Ny   (2y .. 7y364d), a year being 365 d
 *   otherwise                              Ny
 */

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAYS_PER_YEAR = 365;

export function humanDuration(durationMs: number): string {
  // Go converts with int(d.Seconds()): truncation toward zero, so -1.9 s is -1 s.
  const seconds = Math.trunc(durationMs / SECOND_MS);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 2 * 60) return `${seconds}s`;

  const minutes = Math.trunc(durationMs / MINUTE_MS);
  if (minutes < 10) return withRemainder(minutes, 'm', seconds % 60, 's');
  if (minutes < 3 * 60) return `${minutes}m`;

  const hours = Math.trunc(durationMs / HOUR_MS);
  if (hours < 8) return withRemainder(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return withRemainder(days, 'd', hours % 24, 'h');
  if (hours < 24 * DAYS_PER_YEAR * 2) return `${days}d`;
  const years = Math.trunc(days / DAYS_PER_YEAR);
  if (hours < 24 * DAYS_PER_YEAR * 8) return withRemainder(years, 'y', days % DAYS_PER_YEAR, 'd');
  return `${years}y`;
}

/** "3m20s", or "3m" when the smaller unit is zero. */
function withRemainder(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit}${minor}${minorUnit}`;
}
