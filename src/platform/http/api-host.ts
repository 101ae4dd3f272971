// The host name servers reach the cloud's API by: every server's /etc/hosts maps it to its
// network's gateway, where the controller answers what servers may send (wait-condition signals).
export const API_HOST_ALIAS = 'hafen-api';
