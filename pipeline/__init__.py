"""socialrank: do the links and engagement a site gets on social platforms move its search rankings?"""
