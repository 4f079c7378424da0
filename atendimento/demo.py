def seed(password="demo1234"):
    raise NotImplementedError
