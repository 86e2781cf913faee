//! DNS probe over hickory-resolver. OWNER: DNS helper.
