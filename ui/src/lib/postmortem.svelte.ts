// Which incident's postmortem the editor has open: set from an incident's detail, read by the
// window, which lays the editor over everything else.
export const postmortemEditor = $state<{ incident: number | null }>({ incident: null });
