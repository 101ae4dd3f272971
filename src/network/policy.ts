// The network service's default policy, in Neutron's terms: members manage their project's resources,
// admins see and change every project's, and the fields that wire a port into a server or a router
// (device_owner compute:*/network:*, device_id, binding:*) are written by admins and the services alone.
export const networkPolicy: Record<string, string> = {
  'network:context_is_admin': 'role:admin',
  // Reading and changing other projects' resources, and creating resources for another project.
  'network:get:any_project': 'rule:network:context_is_admin',
  'network:update:any_project': 'rule:network:context_is_admin',
  'network:create:any_project': 'rule:network:context_is_admin',
  'network:create_network:shared': 'rule:network:context_is_admin',
  'network:create_network:router:external': 'rule:network:context_is_admin',
  'network:update_network:shared': 'rule:network:context_is_admin',
  'network:update_network:router:external': 'rule:network:context_is_admin',
  // A port names its device: compute (servers) and the network service (routers) bind ports themselves.
  'network:port:device_owner:service': 'rule:network:context_is_admin',
  'network:port:device_id': 'rule:network:context_is_admin',
  'network:port:binding': 'rule:network:context_is_admin',
  'network:delete_security_group:default': 'rule:network:context_is_admin',
  'network:get_quota:any_project': 'rule:network:context_is_admin',
  'network:update_quota': 'rule:network:context_is_admin',
  'network:get_quotas': 'rule:network:context_is_admin',
  'network:get_agent': 'rule:network:context_is_admin',
  'network:subnetpool:shared': 'rule:network:context_is_admin',
};

/** Owners a tenant may not write: Neutron's `network:` devices and compute's `compute:` ones. */
export const SERVICE_DEVICE_OWNER = /^(compute|network):/;
