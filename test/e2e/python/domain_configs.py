"""A domain's specific configuration through python-keystoneclient's domain_configs manager.

Creates a domain, puts a configuration, reads it, updates it, deletes it; prints one JSON document
with what it saw (the Node test asserts on it). Usage: domain_configs.py AUTH_URL USER PASSWORD PROJECT
"""
import json
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient import exceptions
from keystoneclient.v3 import client

auth_url, user, password, project = sys.argv[1:5]
auth = v3.Password(auth_url=auth_url, username=user, password=password, project_name=project,
                   user_domain_id="default", project_domain_id="default")
ks = client.Client(session=session.Session(auth=auth), interface="public")
out = {}
domain = ks.domains.create(name="py-config-domain")
out["domain"] = domain.id
created = ks.domain_configs.create(domain, {"identity": {"driver": "ldap"},
                                            "ldap": {"url": "ldap://127.0.0.1:1/", "user": "cn=admin", "password": "hidden"}})
out["created"] = created.to_dict()
out["got"] = ks.domain_configs.get(domain).to_dict()
out["updated"] = ks.domain_configs.update(domain, {"ldap": {"url": "ldap://127.0.0.2:1/"}}).to_dict()
try:
    ks.domain_configs.create(domain, {"nosuchgroup": {"x": 1}})
    out["invalid"] = "accepted"
except exceptions.Forbidden:
    out["invalid"] = "forbidden"
ks.domain_configs.delete(domain)
try:
    ks.domain_configs.get(domain)
    out["after_delete"] = "found"
except exceptions.NotFound:
    out["after_delete"] = "not found"
print(json.dumps(out))
