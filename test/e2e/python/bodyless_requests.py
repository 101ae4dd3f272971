"""Body-less requests as Python's OpenStack clients send them, against a hafen cloud.

openstacksdk (through keystoneauth) sends `Content-Type: application/json` on every request, with
`Content-Length: 0` on a body-less PUT and no Content-Length on GET and DELETE. Prints one JSON
document with what it saw; the Node test asserts on it. Usage: bodyless_requests.py AUTH_URL USER PASSWORD PROJECT
"""
import http.client
import json
import sys
import urllib.parse

import openstack

auth_url, user, password, project = sys.argv[1:5]
conn = openstack.connect(
    auth_url=auth_url,
    username=user,
    password=password,
    project_name=project,
    user_domain_id="default",
    project_domain_id="default",
    identity_api_version="3",
    region_name="RegionOne",
)
out = {}

# A role grant, its check and its removal, then deletes: the calls that failed first.
proj = conn.identity.create_project(name="py-bodyless", domain_id="default")
usr = conn.identity.create_user(name="py-bodyless-user", password="py-secret-1", domain_id="default")
role = conn.identity.find_role("member")
conn.identity.assign_project_role_to_user(proj, usr, role)
out["granted"] = conn.identity.validate_user_has_project_role(proj, usr, role)
conn.identity.unassign_project_role_from_user(proj, usr, role)
out["after_revoke"] = conn.identity.validate_user_has_project_role(proj, usr, role)
conn.identity.delete_user(usr, ignore_missing=False)
conn.identity.delete_project(proj, ignore_missing=False)
out["user_gone"] = conn.identity.find_user("py-bodyless-user") is None
out["project_gone"] = conn.identity.find_project("py-bodyless") is None

# A network made and deleted through the SDK (Neutron DELETE without Content-Length).
net = conn.network.create_network(name="py-bodyless-net")
conn.network.delete_network(net, ignore_missing=False)
out["network_gone"] = conn.network.find_network("py-bodyless-net") is None

# An image made, tagged (PUT, no body) and deleted through the SDK.
img = conn.image.create_image(name="py-bodyless-img", disk_format="raw", container_format="bare")
conn.image.add_tag(img, "py-tag")
out["image_tags"] = conn.image.get_image(img).tags
conn.image.delete_image(img, ignore_missing=False)

# The same on the wire, by hand, so that the headers are exactly those of the clients.
token = conn.session.get_token()
base = urllib.parse.urlsplit(auth_url)


def raw(method, path, content_length=None):
    c = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Auth-Token": token, "Accept": "application/json"}
    if content_length is not None:
        headers["Content-Length"] = str(content_length)
    c.putrequest(method, path)
    for k, v in headers.items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    c.close()
    return {"status": r.status, "type": r.getheader("Content-Type"), "body": body[:4000]}


compute = conn.session.get_endpoint(service_type="compute", interface="public")
network = conn.session.get_endpoint(service_type="network", interface="public")
image = conn.session.get_endpoint(service_type="image", interface="public")
heat = conn.session.get_endpoint(service_type="orchestration", interface="public")
path = lambda url: urllib.parse.urlsplit(url).path.rstrip("/")
roles = conn.identity.roles(name="reader")
reader = next(iter(roles))
# Grants go to another user: revoking one revokes that user's tokens on the project, as in Keystone.
me = conn.identity.create_user(name="py-grantee", password="py-secret-2", domain_id="default").id
proj_id = conn.session.get_project_id()
ident = path(auth_url)
out["raw"] = {
    "keystone GET": raw("GET", ident + "/projects"),
    "keystone HEAD grant": raw("HEAD", f"{ident}/projects/{proj_id}/users/{me}/roles/{reader.id}"),
    "keystone PUT grant": raw("PUT", f"{ident}/projects/{proj_id}/users/{me}/roles/{reader.id}", 0),
    "keystone DELETE grant": raw("DELETE", f"{ident}/projects/{proj_id}/users/{me}/roles/{reader.id}"),
    "keystone POST no body": raw("POST", ident + "/projects", 0),
    "nova GET": raw("GET", path(compute) + "/flavors"),
    "nova DELETE missing": raw("DELETE", path(compute) + "/servers/00000000-0000-0000-0000-000000000000"),
    "nova POST no body": raw("POST", path(compute) + "/servers", 0),
    "neutron GET": raw("GET", path(network) + "/v2.0/networks"),
    "neutron DELETE missing": raw("DELETE", path(network) + "/v2.0/networks/00000000-0000-0000-0000-000000000000"),
    "glance GET": raw("GET", path(image) + "/v2/images"),
    "glance DELETE missing": raw("DELETE", path(image) + "/v2/images/00000000-0000-0000-0000-000000000000"),
    "heat GET": raw("GET", path(heat) + "/stacks"),
    "heat DELETE missing": raw("DELETE", path(heat) + "/stacks/nothing/00000000-0000-0000-0000-000000000000"),
    "heat POST no body": raw("POST", path(heat) + "/stacks", 0),
}
print(json.dumps(out))
